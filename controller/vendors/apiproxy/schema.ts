import { z } from 'zod';

/**
 * The API Proxy answers the driver reads a body of (seed 002). Deletes, opt-outs and test
 * queries are judged by status code alone ("the status code is the only signal"), so
 * they have no schema.
 */

/** An access answer: "an array of objects", any value types inside (flattened to report_N.csv). */
export const AccessAnswer = z.array(z.record(z.string(), z.json()));

/**
 * An identifiers answer: an array of objects keyed by the snake_case category. The
 * category's value must be a string or number (an empty or null value: no identifier);
 * other keys are ignored.
 */
export function identifiersAnswer(category: string) {
  return z.array(z.looseObject({ [category]: z.union([z.string(), z.number(), z.null()]).optional() }));
}
