/** CIMI JSON: the representation objects as they are. */
export const JSON_TYPE = 'application/json';

export function toCimiJson(body: Record<string, unknown>): string {
  return JSON.stringify(body);
}
