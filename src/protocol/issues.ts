import type { z } from 'zod';

/** One readable line per zod issue, each naming the field it is about. */
export function describeIssues(error: z.ZodError, prefix: Array<string | number> = []): string[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path].join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}
