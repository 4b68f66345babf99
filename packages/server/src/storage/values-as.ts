import type { AliasedExpression, ExpressionBuilder } from "kysely";

/**
 * A row's values as a select list, each `value as column`: the row of an `insert … select` written only
 * where the select finds something (a session while its account is as read, a login's success).
 */
export function valuesAs<R extends object>(eb: ExpressionBuilder<any, any>, row: R): AliasedExpression<unknown, Extract<keyof R, string>>[] {
  return Object.entries(row).map(([column, value]) => eb.val(value).as(column as Extract<keyof R, string>));
}
