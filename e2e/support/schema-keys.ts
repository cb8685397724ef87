/**
 * The keys of a JSON value that its JSON Schema does not allow (objects with `additionalProperties:
 * false`, as zod's schemas become in the OpenAPI document), for checking real responses against the
 * document that generated clients and strict validators use. zod's own parse drops unknown keys
 * silently, so a field the service sends and the contract lacks passed every zod check.
 * Follows $ref (#/...), oneOf / anyOf (the branch with the fewest unknown keys), allOf, items and
 * prefixItems; other keywords (types, formats, ranges) are not checked here.
 */
type Schema = Record<string, unknown>;

export function unknownKeys(value: unknown, schema: Schema, root: Schema, path = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], root);
    if (!target) return [`${path}: unresolved ${schema.$ref}`];
    return unknownKeys(value, target as Schema, root, path);
  }
  const branches = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (branches) {
    const found = branches.map((b) => unknownKeys(value, b, root, path));
    return found.reduce((best, f) => (f.length < best.length ? f : best));
  }
  const out: string[] = [];
  for (const part of (schema.allOf as Schema[] | undefined) ?? []) out.push(...unknownKeys(value, part, root, path));
  if (Array.isArray(value)) {
    const prefix = schema.prefixItems as Schema[] | undefined;
    value.forEach((v, i) => {
      const s = prefix?.[i] ?? (schema.items as Schema | undefined);
      if (s && typeof s === 'object') out.push(...unknownKeys(v, s, root, `${path}[${i}]`));
    });
    return out;
  }
  if (value === null || typeof value !== 'object') return out;
  const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
  const extra = schema.additionalProperties;
  for (const [k, v] of Object.entries(value)) {
    if (props[k]) out.push(...unknownKeys(v, props[k], root, `${path}.${k}`));
    else if (extra === false) out.push(`${path}.${k}`);
    else if (extra && typeof extra === 'object') out.push(...unknownKeys(v, extra as Schema, root, `${path}.${k}`));
  }
  return out;
}
