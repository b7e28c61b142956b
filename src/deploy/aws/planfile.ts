// Saved plans on AWS (docs/plan-file.md, "On AWS"): the same document as a local saved plan, with
// `target: "aws"` and the change set CloudFormation keeps for it. The change set holds the template
// and the parameter values (NoEcho ones too), so the file needs no sealed values: it names the
// change set, shows its steps, and records the stack as it was for the staleness check.
import { KilnError } from '../../core/errors.js';
import type { Json } from '../../core/json.js';
import { planDocument, type GivenParameter, type PlanDocument } from '../planfile.js';
import type { AwsPlan, AwsPlanOptions, SavedAwsPlan } from './engine.js';

/** The plan document of a kept AWS plan (`kiln plan --target aws --out`, `kiln up --target aws --plan-only --out`). */
export function awsPlanDocument(p: AwsPlan, o: AwsPlanOptions & { region: string; images?: Record<string, string>; now?: Date }): PlanDocument {
  if (!p.basis) throw new KilnError('INTERNAL', 'an AWS plan document needs the basis of a kept plan', 'internal');
  const given: Record<string, GivenParameter> = {};
  for (const [k, v] of Object.entries(o.params)) if (!o.template.parameters[k]?.noEcho) given[k] = { value: v };
  const doc = planDocument({
    stack: p.stack,
    plan: p.plan,
    isCreate: p.isCreate,
    ...(p.status ? { status: p.status } : {}),
    parameters: p.parameters as Record<string, Json>,
    template: { file: o.template.file, text: o.template.body },
    given,
    images: o.images ?? {},
    basis: p.basis,
    live: {},
    imports: {},
    ...(o.now ? { now: o.now } : {}),
  });
  return {
    ...doc,
    target: 'aws',
    aws: {
      region: o.region,
      changeSet: p.changeSet ? { id: p.changeSet.id, name: p.changeSet.name, stackId: p.changeSet.stackId } : null,
      capabilities: [...o.capabilities],
      ...(p.templateUrl ? { templateUrl: p.templateUrl } : {}),
    },
  };
}

/** What `kiln deploy PLAN` needs of an AWS plan document; a malformed one is refused, saying what. */
export function savedAwsPlan(doc: PlanDocument, file: string): SavedAwsPlan {
  const a = doc.aws as Partial<NonNullable<PlanDocument['aws']>> | undefined;
  const cs = a?.changeSet;
  const okChangeSet = cs === null || (typeof cs === 'object' && typeof cs.id === 'string' && typeof cs.name === 'string' && typeof cs.stackId === 'string');
  if (doc.target !== 'aws' || !a || typeof a.region !== 'string' || !okChangeSet || cs === undefined)
    throw new KilnError('PLAN_FILE', `${file}: field "aws" is missing or malformed (region, changeSet); plan again`, 'user');
  return {
    stack: doc.stack,
    region: a.region,
    changeSet: cs,
    isCreate: doc.isCreate,
    plan: { steps: doc.steps, diagnostics: [], changes: doc.changes },
    basis: doc.basis,
    parameters: Object.fromEntries(Object.entries(doc.parameters).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
  };
}
