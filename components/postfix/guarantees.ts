/**
 * What the check step reads back of Postfix: every guarded parameter (postfix/guards.ts) that our services set, with
 * the promise it carries, as `service/type/name=value|guarantee` for `postconf -Ph`.
 */
import { guardFor } from "../config/grammar";
import { POSTFIX_GUARDS } from "./guards";
import type { PostfixPlan } from "./render";

export function postfixGuarantees(plan: PostfixPlan): string[] {
  return plan.services.flatMap((s) =>
    Object.entries(s.params).flatMap(([name, value]) => {
      const guarantee = guardFor(POSTFIX_GUARDS, name);
      return guarantee === undefined ? [] : [`${s.key}/${name}=${value}|${guarantee}`];
    }),
  );
}
