// What the mocked deployment says about Redis, gathered in one place so the two stack tests (htbase:redis off,
// the default, and on) assert the same facts with opposite expectations.
import { ofType, recorded, type Recorded } from './mock-cloud.ts';
import { envOf, GCP, secretEnvOf } from './stack-fixture.ts';

/** Every Cloud Run service and function the stack declares (the seven deployables). */
export const deployables = (): Recorded[] => [
  ...ofType(GCP('cloudrunv2/service:Service')),
  ...ofType(GCP('cloudfunctionsv2/function:Function')),
];

/** Names of the deployables given any Redis setting, plain or from Secret Manager. */
export function redisConsumers(): string[] {
  return deployables()
    .filter((r) => {
      const keys = [...Object.keys(envOf(r) ?? {}), ...Object.keys(secretEnvOf(r))];
      const values = Object.values(envOf(r) ?? {}).map(String);
      return keys.some((k) => /REDIS/i.test(k)) || values.some((v) => /redis/i.test(v));
    })
    .map((r) => r.inputs.name)
    .sort();
}

export const memorystores = () => ofType(GCP('redis/instance:Instance'));
export const redisSecrets = () =>
  ofType(GCP('secretmanager/secret:Secret')).filter((r) => /redis/.test(r.inputs.secretId));
export const redisSecretGrants = () =>
  ofType(GCP('secretmanager/secretIamMember:SecretIamMember')).filter((r) => /redis/.test(String(r.inputs.secretId)));

/** Ports the capture workers may open on the managed-services range. */
export function captureDataPorts(): string[] {
  const allow = ofType(GCP('compute/firewall:Firewall')).find((r) => r.inputs.allows?.length);
  if (!allow) throw new Error('no allow rule for the capture workers');
  return allow.inputs.allows.flatMap((a: { ports: string[] }) => a.ports);
}

/** Any resource whose type or inputs mention Redis (the API enablement aside), as `type name`. */
export function redisMentions(): string[] {
  return recorded
    .filter((r) => r.type !== GCP('projects/service:Service'))
    .filter((r) => /redis|6379/i.test(r.type) || /redis|6379/i.test(JSON.stringify(r.inputs)))
    .map((r) => `${r.type} ${r.name}`);
}
