import type { DesiredUser, SourceUser } from "../core/model.js";
import { describePerson, findPerson, narrowPlan, narrowProblems, type PersonLookup, type PersonReport } from "../core/narrow-plan.js";
import { ScimsyncError } from "../errors.js";
import type { PreparedPlan } from "./run-sync.js";

/** `--user` named nobody the directory, the state or the target knows. */
export class UnknownUserError extends ScimsyncError {}

/**
 * The prepared plan narrowed to one person (`plan --user`, `sync --user`): the plan, its state
 * and the problems shown are theirs only; see narrowPlan for what is kept.
 */
export function narrowToUser(
  prepared: PreparedPlan,
  userName: string,
  read: { directory: readonly SourceUser[]; desired: readonly DesiredUser[] },
): PreparedPlan & { person: PersonReport } {
  const lookup: PersonLookup = {
    directory: read.directory,
    desired: read.desired,
    problems: prepared.problems,
    state: prepared.stored,
    actual: [...prepared.actualById.values()],
  };
  const person = findPerson(userName, lookup);
  if (!person) {
    throw new UnknownUserError(`no user named ${userName.trim()} in the directory, on the target or in the state file`, {
      hint: "check the spelling; --user takes a userName as the directory or the app has it (case does not matter)",
    });
  }
  if (person.sourceIds.length > 1) {
    // Two people answer to the name (a UPN one has as mail, a leaver's old name a newcomer now
    // has): acting for both would go beyond "only this person".
    throw new UnknownUserError(`${userName.trim()} names ${person.sourceIds.length} people (directory ids ${person.sourceIds.join(", ")}); nothing was done`, {
      hint: "use a userName only one person has (the app's or the directory's), or run a full sync",
    });
  }
  const plan = narrowPlan(prepared.plan, person, prepared.stored);
  return {
    ...prepared,
    plan,
    problems: narrowProblems(prepared.problems, person),
    person: describePerson(person, lookup, plan),
  };
}
