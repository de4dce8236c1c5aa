import { describe, expect, it } from "vitest";
import { locateIn } from "../src/config/secret-location.js";

describe("locateIn", () => {
  it.each([
    ["${file:./scim-token}", { kind: "file", reference: "${file:./scim-token}", path: "/etc/scimsync/scim-token" }],
    ["${file: /run/secrets/token }", { kind: "file", reference: "${file: /run/secrets/token }", path: "/run/secrets/token" }],
    ["${env:SCIM_TOKEN}", { kind: "env", reference: "${env:SCIM_TOKEN}", name: "SCIM_TOKEN" }],
    ["abc123", { kind: "inline" }],
    ["Bearer ${env:T}", { kind: "composite", references: ["${env:T}"] }],
    ["${env:A}${file:b}", { kind: "composite", references: ["${env:A}", "${file:b}"] }],
    ["${vault:x}", { kind: "composite", references: ["${vault:x}"] }],
  ])("Given %s, Then it is %j", (text, expected) => {
    expect(locateIn(text, "/etc/scimsync")).toEqual(expected);
  });
});
