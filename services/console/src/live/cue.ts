/**
 * The dashboard's cue for a critical event: a new event of severity ``critical`` on the live feed
 * flashes the feed (always) and, where the operator turned it on in this browser, sounds a short
 * two-tone alert made with WebAudio (no sound file). The sound is off until chosen — a browser
 * plays no audio before a click anyway, and the click that turns it on is the one that unlocks it —
 * and the choice is kept in localStorage (``vigia.alertSound``).
 */
import type { FeedMessage } from "./messages";

const STORAGE_KEY = "vigia.alertSound";

/** Whether ``message`` calls for the cue: a critical event just created (not its updates). */
export function isCritical(message: FeedMessage): boolean {
  return message.type === "new_event" && message.change === "created" && message.event.severity === "critical";
}

export function soundChosen(storage: Pick<Storage, "getItem"> | undefined = globalThis.localStorage): boolean {
  return storage?.getItem(STORAGE_KEY) === "on";
}

export function chooseSound(on: boolean, storage: Pick<Storage, "setItem"> | undefined = globalThis.localStorage): void {
  storage?.setItem(STORAGE_KEY, on ? "on" : "off");
}

let context: AudioContext | null = null;

/** Create (or resume) the audio context: call from the click that turns the sound on. */
export function unlockSound(): void {
  if (typeof AudioContext === "undefined") return;
  context ??= new AudioContext();
  void context.resume();
}

/** Two short tones (880 Hz, then 660 Hz), quiet; nothing where there is no audio context yet. */
export function playAlert(): void {
  if (!context || context.state !== "running") return;
  const start = context.currentTime;
  for (const [i, frequency] of [880, 660].entries()) {
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.2, start + i * 0.18 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.18 + 0.16);
    tone.connect(gain).connect(context.destination);
    tone.start(start + i * 0.18);
    tone.stop(start + i * 0.18 + 0.17);
  }
}
