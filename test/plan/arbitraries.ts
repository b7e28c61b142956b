// Random templates of fake resources for the planner's and the executor's property tests.
import fc from 'fast-check';

/** A random acyclic template of fake resources: each may reference earlier ones. */
export const templateArb = fc
  .array(
    fc.record({
      name: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
      value: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
      ref: fc.option(fc.nat(), { nil: undefined }),
      how: fc.constantFrom('Ref', 'GetAtt', 'Sub', 'Join'),
      immutable: fc.boolean(),
      dependsOn: fc.option(fc.nat(), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 7 },
  )
  .map((rs) => {
    const Resources: Record<string, unknown> = {};
    rs.forEach((r, i) => {
      const id = `R${i}`;
      const props: Record<string, unknown> = { Value: r.value };
      if (r.name) props.Name = r.name;
      if (r.ref !== undefined && i > 0) {
        const t = `R${r.ref % i}`;
        props.Link = r.how === 'Ref' ? { Ref: t } : r.how === 'GetAtt' ? { 'Fn::GetAtt': [t, 'Arn'] } : r.how === 'Sub' ? { 'Fn::Sub': `x-\${${t}}` } : { 'Fn::Join': ['-', [{ Ref: t }, 'y']] };
      }
      Resources[id] = {
        Type: r.immutable ? 'Test::Fake::Immutable' : 'Test::Fake::Resource',
        Properties: props,
        ...(r.dependsOn !== undefined && i > 0 ? { DependsOn: `R${r.dependsOn % i}` } : {}),
      };
    });
    return { Resources, Outputs: { First: { Value: { Ref: 'R0' } } } };
  });

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: string }>; Outputs: unknown };

/**
 * A template and a random edit of it: some values and create-only names changed, the last resources
 * dropped (nothing refers forward, so the rest stays valid), a new one that may refer to any other.
 */
export const editedTemplateArb = templateArb.chain((t1) => {
  const ids = Object.keys((t1 as Template).Resources);
  return fc
    .record({
      edits: fc.array(fc.constantFrom('keep', 'keep', 'value', 'value', 'name'), { minLength: ids.length, maxLength: ids.length }),
      drop: fc.nat({ max: Math.max(0, ids.length - 1) }),
      add: fc.option(fc.record({ target: fc.nat(), how: fc.constantFrom('Ref', 'GetAtt') }), { nil: undefined }),
    })
    .map(({ edits, drop, add }) => {
      const src = (t1 as Template).Resources;
      const Resources: Template['Resources'] = {};
      ids.slice(0, ids.length - drop).forEach((id, i) => {
        const r = src[id]!;
        const props = { ...r.Properties };
        if (edits[i] === 'value') props.Value = `${String(props.Value)}~`;
        if (edits[i] === 'name') props.Name = props.Name === 'a' ? 'b' : 'a';
        Resources[id] = { ...r, Properties: props };
      });
      const kept = Object.keys(Resources);
      if (add && kept.length > 0) {
        const t = kept[add.target % kept.length]!;
        Resources.Added = { Type: 'Test::Fake::Resource', Properties: { Value: 'added', Link: add.how === 'Ref' ? { Ref: t } : { 'Fn::GetAtt': [t, 'Arn'] } } };
      }
      return [t1, { Resources, Outputs: { First: { Value: { Ref: 'R0' } } } }] as const;
    });
});
