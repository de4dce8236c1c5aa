import { test } from "vitest";
import { FileSource } from "../src/sources/file-source.js";
test("scratch", async () => {
  for (const f of ["examples/directory.json", "examples/directory.csv"]) {
    const s = await new FileSource(f).read();
    console.log(s.users.length, s.complete, s.problems, JSON.stringify(s.groups), JSON.stringify(s.users[3]));
  }
});
