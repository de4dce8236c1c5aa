#!/usr/bin/env node
// Thin shim: the CLI is built into dist/ by `npm run build`.
import { main } from "../dist/cli/main.js";

const code = await main(process.argv);
// Leave once stdout has drained (a pipe may be slower than us), even if a library left a timer behind.
process.stdout.write("", () => process.exit(code));
