import type { TargetError } from "../errors.js";

/**
 * POSTs of one create in one run, each after a lost answer and a lookup that found nothing (see
 * createUser in apply-plan.ts): a target failing one request in ten still gets nearly every
 * newcomer created in the first run, and never a duplicate where names are unique.
 */
export const CREATE_POSTS = 3;

/**
 * Whether a failed create found by nobody may be sent again: not when it was the last try, and
 * not when a 2xx proved it applied (its body was unusable, but the resource exists).
 */
export function mayPostAgain(error: TargetError, posted: number): boolean {
  const applied = error.status !== undefined && error.status < 300;
  return posted < CREATE_POSTS && !applied;
}
