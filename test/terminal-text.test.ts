import { describe, expect, it } from "vitest";
import { terminalSafe, terminalSafeDeep } from "../src/ui/terminal-text.js";

describe("terminalSafe", () => {
  it("Given escape sequences, a bell, a NUL, DEL and a C1 CSI, it prints them as escapes", () => {
    expect(terminalSafe("\u001b[2J\u001b]0;title\u0007a\u0000b\u007fc\u009b31m")).toBe("\\u001b[2J\\u001b]0;title\\u0007a\\u0000b\\u007fc\\u009b31m");
  });

  it("Given line breaks, it escapes them in a value and keeps them in a message written over several lines", () => {
    expect(terminalSafe("one\r\ntwo\tthree")).toBe("one\\r\\ntwo\\tthree");
    expect(terminalSafe("one\r\ntwo\tthree", { lines: true })).toBe("one\\r\ntwo\tthree");
  });

  it("Given text without control characters (quotes, backslashes, any script), it leaves it as it is", () => {
    const text = `O'Brien "quoted" back\\slash Zoë 李 عربي`;
    expect(terminalSafe(text)).toBe(text);
  });

  it("Given a report-like object, it makes every string and key safe and leaves other values alone", () => {
    expect(terminalSafeDeep({ key: "a\u001bb", n: 3, ok: true, none: null, list: ["x\ny"], nested: { "k\u0007": "v" } })).toEqual({
      key: "a\\u001bb",
      n: 3,
      ok: true,
      none: null,
      list: ["x\\ny"],
      nested: { "k\\u0007": "v" },
    });
  });
});
