import { startSandbox } from "../../sandbox/server.js";

export interface SandboxCommandOptions {
  port: number;
  token?: string;
  data?: string;
}

/** Runs the local SCIM target until Ctrl-C: the default target of the demo and the tests. */
export async function sandboxCommand(options: SandboxCommandOptions): Promise<number> {
  const sandbox = await startSandbox({
    port: options.port,
    ...(options.token ? { token: options.token } : {}),
    ...(options.data ? { dataFile: options.data } : {}),
  });
  // Machine-readable first line: scripts (and `npm run demo`) read the URL and token from it.
  process.stdout.write(JSON.stringify({ url: sandbox.baseUrl, token: sandbox.token }) + "\n");
  process.stderr.write(
    `SCIM sandbox listening at ${sandbox.baseUrl}\n` +
      `  bearer token: ${sandbox.token}\n` +
      `  ${options.data ? `data persisted in ${options.data}` : "in memory: data is lost when it stops"}\n` +
      `  press Ctrl-C to stop\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await sandbox.close();
  return 0;
}
