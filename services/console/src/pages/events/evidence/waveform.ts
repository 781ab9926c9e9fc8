/**
 * A waveform as drawn on a canvas: for each column of pixels, the lowest and highest sample of
 * the slice of audio it covers (so a short click still shows at any zoom), and the drawing itself.
 */

/** ``columns`` (min, max) pairs over ``samples``: ``out[2i]`` the minimum, ``out[2i+1]`` the maximum. */
export function peaks(samples: Float32Array, columns: number): Float32Array {
  const out = new Float32Array(Math.max(0, columns) * 2);
  if (samples.length === 0 || columns <= 0) return out;
  const per = samples.length / columns;
  for (let c = 0; c < columns; c++) {
    const start = Math.floor(c * per);
    const end = Math.max(start + 1, Math.min(samples.length, Math.floor((c + 1) * per)));
    let low = Infinity;
    let high = -Infinity;
    for (let i = start; i < end && i < samples.length; i++) {
      const v = samples[i]!;
      if (v < low) low = v;
      if (v > high) high = v;
    }
    out[2 * c] = low === Infinity ? 0 : low;
    out[2 * c + 1] = high === -Infinity ? 0 : high;
  }
  return out;
}

/** Draw ``pairs`` (from :func:`peaks`) filling ``canvas``, and the play position ``at`` (0..1) if given. */
export function drawWaveform(canvas: HTMLCanvasElement, pairs: Float32Array, colour: string, cursor: string,
  at?: number): void {
  const context = canvas.getContext("2d");
  if (!context) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const middle = height / 2;
  context.fillStyle = colour;
  const columns = pairs.length / 2;
  for (let c = 0; c < columns; c++) {
    const top = middle - pairs[2 * c + 1]! * middle;
    const bottom = middle - pairs[2 * c]! * middle;
    context.fillRect((c * width) / columns, top, Math.max(1, width / columns), Math.max(1, bottom - top));
  }
  if (at !== undefined && at > 0) {
    context.fillStyle = cursor;
    context.fillRect(Math.min(width - 2, at * width), 0, 2, height);
  }
}
