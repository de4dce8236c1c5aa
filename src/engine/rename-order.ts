/**
 * Renames that hand a name from one account (or group) to another in the same run: the app
 * refuses a name still in use, so the one giving a name up goes first.
 *
 * A ring (two accounts swapping names) cannot be ordered; its renames run last and the app
 * refuses them, which is reported. Going through a temporary name would need the state saved
 * between the two halves and the temporary name recognised after a crash; not done.
 */
import type { PlannedAction } from "../core/model.js";

/** The attribute that names an action's resource and must be unique on the target. */
function nameAttribute(action: PlannedAction): "userName" | "displayName" {
  return action.type === "Group" ? "displayName" : "userName";
}

function rename(action: PlannedAction): { from: string; to: string } | undefined {
  const change = action.changes[nameAttribute(action)];
  if (!change || typeof change.from !== "string" || typeof change.to !== "string") return undefined;
  // A change of case only keeps the name on the same account: nothing to wait for.
  if (change.from.toLowerCase() === change.to.toLowerCase()) return undefined;
  return { from: change.from, to: change.to };
}

/**
 * Orders one phase's actions into waves: everything that renames nothing, and every rename
 * whose new name is free, in the first; a rename to a name another rename gives up after it.
 */
export function orderRenames(queue: PlannedAction[]): PlannedAction[][] {
  const renames = new Map<PlannedAction, { from: string; to: string }>();
  for (const action of queue) {
    const r = rename(action);
    if (r) renames.set(action, r);
  }
  if (renames.size < 2) return [queue];
  const byFrom = new Map<string, PlannedAction>();
  for (const [action, r] of renames) byFrom.set(`${action.type}:${r.from.toLowerCase()}`, action);
  const blocker = (action: PlannedAction): PlannedAction | undefined => {
    const holder = byFrom.get(`${action.type}:${renames.get(action)!.to.toLowerCase()}`);
    return holder === action ? undefined : holder;
  };

  const waves: PlannedAction[][] = [];
  const done = new Set<PlannedAction>();
  let wave = queue.filter((a) => !renames.has(a));
  let left = queue.filter((a) => renames.has(a));
  while (left.length > 0) {
    const ready = left.filter((a) => {
      const holder = blocker(a);
      return holder === undefined || done.has(holder);
    });
    if (ready.length === 0) {
      // A ring, or renames waiting on one: nothing can free their names in this run.
      waves.push([...wave, ...left]);
      return waves.filter((w) => w.length > 0);
    }
    waves.push([...wave, ...ready]);
    wave = [];
    for (const a of ready) done.add(a);
    const readySet = new Set(ready);
    left = left.filter((a) => !readySet.has(a));
  }
  if (wave.length > 0) waves.push(wave);
  return waves.filter((w) => w.length > 0);
}
