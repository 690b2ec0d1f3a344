import { describe, expect, it } from "vitest";
import { decodedPayload } from "../../src/core/export-types.ts";
import { toWireEvent } from "../../src/core/coalesce.ts";
import { makeEvent } from "../helpers/fakes.ts";

describe("decodedPayload", () => {
  it("removes properties the browser held as undefined, at any depth, leaving the stored event alone", () => {
    const e = {
      payload: { id: "x", displaySettings: { visible: true, color: 0 }, "a.b": 0 },
      $types: { "payload.displaySettings.color": "undef", "payload.a~1b": "undef", "payload.list": "arrayNonindexKeys" },
    };
    expect(decodedPayload(e)).toEqual({ id: "x", displaySettings: { visible: true } });
    expect(e.payload.displaySettings.color).toBe(0);
  });

  it("returns the payload itself when nothing is tagged undef", () => {
    const payload = { coordinates: [[1, 2]] };
    expect(decodedPayload({ payload, $types: { "payload.coordinates": "arrayNonindexKeys" } })).toBe(payload);
    expect(decodedPayload({ payload })).toBe(payload);
  });

  it("is what goes on the wire", () => {
    const e = { ...makeEvent({ id: "e1", payload: { color: 0, name: "n" } }), $types: { "payload.color": "undef" } };
    expect(toWireEvent(e).payload).toEqual({ name: "n" });
  });
});
