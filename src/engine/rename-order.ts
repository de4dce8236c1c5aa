/**
 * Renames that hand a name from one account (or group) to another in the same run: the app
 * refuses a name still in use, so the one giving a name up goes first, and a ring of renames
 * (two people swapping userNames) goes through a temporary name.
 */
import { randomBytes } from "node:crypto";
import type { PlannedAction } from "../core/model.js";

export interface Step {
  action: PlannedAction;
  /** Set for the first half of a rename through a temporary name: rename to this, nothing else. */
  temporaryName?: string;
}

/** The attribute that names an action's resource and must be unique on the target. */
export function nameAttribute(action: PlannedAction): "userName" | "displayName" {
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
 * A name nobody uses, close to the final one so an administrator looking at the app mid-run
 * recognises it: plus-addressing for an email-shaped userName (apps that insist on email-shaped
 * userNames accept it), a suffix otherwise.
 */
export function temporaryName(action: PlannedAction, finalName: string): string {
  const tag = `scimsync-${randomBytes(3).toString("hex")}`;
  if (action.type === "User") {
    const at = finalName.lastIndexOf("@");
    if (at > 0) return `${finalName.slice(0, at)}+${tag}${finalName.slice(at)}`;
    return `${finalName}.${tag}`;
  }
  return `${finalName} (${tag})`;
}

/**
 * Orders one phase's actions into waves. Actions that rename nothing form the first wave with
 * every rename whose new name is free; a rename to a name another rename gives up waits for
 * it; in a ring, one member first moves to a temporary name.
 */
export function orderRenames(queue: PlannedAction[], makeTemporary = temporaryName): Step[][] {
  const renames = new Map<PlannedAction, { from: string; to: string }>();
  for (const action of queue) {
    const r = rename(action);
    if (r) renames.set(action, r);
  }
  if (renames.size < 2) return [queue.map((action) => ({ action }))];
  const byFrom = new Map<string, PlannedAction>();
  for (const [action, r] of renames) byFrom.set(`${action.type}:${r.from.toLowerCase()}`, action);
  const blocker = (action: PlannedAction): PlannedAction | undefined => {
    const r = renames.get(action);
    const holder = r && byFrom.get(`${action.type}:${r.to.toLowerCase()}`);
    return holder === action ? undefined : holder;
  };

  const waves: Step[][] = [];
  const vacated = new Set<PlannedAction>();
  const first: Step[] = [];
  let left: PlannedAction[] = [];
  for (const action of queue) {
    if (!renames.has(action)) first.push({ action });
    else left.push(action);
  }
  let wave = first;
  while (left.length > 0) {
    const ready = left.filter((a) => {
      const holder = blocker(a);
      return holder === undefined || vacated.has(holder);
    });
    if (ready.length === 0) {
      // A ring: its first member steps aside to a temporary name, which frees its old name.
      const ringMember = left[0]!;
      wave.push({ action: ringMember, temporaryName: makeTemporary(ringMember, renames.get(ringMember)!.to) });
      vacated.add(ringMember);
      waves.push(wave);
      wave = [];
      continue;
    }
    wave.push(...ready.map((action) => ({ action })));
    for (const a of ready) vacated.add(a);
    waves.push(wave);
    wave = [];
    const readySet = new Set(ready);
    left = left.filter((a) => !readySet.has(a));
  }
  if (wave.length > 0) waves.push(wave);
  return waves.filter((w) => w.length > 0);
}
