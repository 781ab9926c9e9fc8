import { describe, expect, it } from "vitest";

import { decimalOrNull } from "./numbers";

describe("a decimal setting typed in a field", () => {
  it("takes a comma or a point, empty as null, anything else as typed", () => {
    expect(decimalOrNull("0,85")).toBe(0.85);
    expect(decimalOrNull(" 0.5 ")).toBe(0.5);
    expect(decimalOrNull("1")).toBe(1);
    expect(decimalOrNull(".7")).toBe(0.7);
    expect(decimalOrNull("")).toBeNull();
    expect(decimalOrNull(null)).toBeNull();
    expect(decimalOrNull("alto")).toBe("alto");
    expect(decimalOrNull("0,5,1")).toBe("0,5,1");
  });
});
