// HeaderMap: Envoy's header map semantics (lower-cased keys, repeated keys, setCopy/remove),
// and iteration snapshots that later edits do not change.
import { describe, expect, it } from "vitest";
import { HeaderMap } from "../host/http/header-map.ts";

const list = (h: HeaderMap) => [...h].map(([k, v]) => `${k}=${v}`);

describe("HeaderMap", () => {
  it("set replaces the first entry in place and drops the later ones (Envoy's setCopy)", () => {
    const h = new HeaderMap([["A", "1"], ["b", "2"], ["a", "3"], ["c", "4"], ["A", "5"]]);
    h.set("a", "x");
    expect(list(h)).toEqual(["a=x", "b=2", "c=4"]);
    h.set("D", "y");
    expect(list(h)).toEqual(["a=x", "b=2", "c=4", "d=y"]);
  });

  it("remove drops every entry of a key and keeps the order of the rest", () => {
    const h = new HeaderMap([["x", "1"], ["y", "2"], ["X", "3"], ["z", "4"], ["x", "5"]]);
    h.remove("X");
    expect(list(h)).toEqual(["y=2", "z=4"]);
    h.remove("absent");
    expect(list(h)).toEqual(["y=2", "z=4"]);
    expect(h.count).toBe(2);
    expect(h.get("x")).toBeNull();
    expect(h.get("Z")).toBe("4");
  });

  it("iterators and entries() are snapshots: later set/remove/add do not change them", () => {
    const h = new HeaderMap([["a", "1"], ["b", "2"], ["a", "3"]]);
    const entries = h.entries();
    const it = h[Symbol.iterator]();
    h.set("a", "9");
    h.remove("b");
    h.add("c", "4");
    expect(entries.map(([k, v]) => `${k}=${v}`)).toEqual(["a=1", "b=2", "a=3"]);
    expect([...{ [Symbol.iterator]: () => it }].map(([k, v]) => `${k}=${v}`)).toEqual(["a=1", "b=2", "a=3"]);
    expect(list(h)).toEqual(["a=9", "c=4"]);
    const copy = h.clone();
    copy.set("a", "0");
    expect(h.get("a")).toBe("9");
  });
});
