/**
 * Writing a renewed secret into the file a `${file:PATH}` reference reads: atomically (a crash
 * leaves the old secret or the new one, never half of one), mode 0600, no backup (an old secret
 * lying around is one more to leak), and ending in the one newline the loader trims.
 */
import { chown, realpath, stat } from "node:fs/promises";
import { writeFileAtomic } from "../state/atomic-write.js";

/**
 * Returns the path written: a symlink (a mounted secret, /etc/scimsync/token -> …) is followed,
 * so the link stays and its target gets the new content. Run as root over a file owned by
 * someone else (the service user), the new file keeps that owner, or the service could no
 * longer read it. Errors are Node's own; the caller words them.
 */
export async function storeSecretFile(path: string, secret: string): Promise<string> {
  const real = await realpath(path).catch(() => path);
  const previous = await stat(real).catch(() => undefined);
  const keepOwner = previous !== undefined && process.getuid?.() === 0 && (previous.uid !== 0 || previous.gid !== 0);
  await writeFileAtomic(real, `${secret}\n`, {
    mode: 0o600,
    dirMode: 0o700,
    ...(keepOwner ? { beforeRename: (from: string) => chown(from, previous.uid, previous.gid) } : {}),
  });
  return real;
}
