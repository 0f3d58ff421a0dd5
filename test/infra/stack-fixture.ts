// The mocked deployment the stack tests share: Pulumi's mocks installed before infra/ is imported, the stack
// config they deploy (Gemini in API-key mode), and readers for what a resource was given (env, secrets, invokers).
import { fakeFunctionsDir, installMocks, one, ofType, PROJECT, settle, value, type Recorded } from './mock-cloud.ts';

await installMocks();
export const { createStack } = await import('../../infra/stack.ts');
export const { defaults, validate, timings } = await import('../../infra/config.ts');
export const { REQUIRED_APIS } = await import('../../infra/components/apis.ts');
export const { minimalRoles, SERVICE_AGENT_ROLES, SERVICE_ACCOUNTS, FORBIDDEN_ROLES } =
  await import('../../infra/roles.ts');

export const cfg = validate({
  ...defaults(PROJECT, 'europe-west1'),
  browserImage: 'europe-west1-docker.pkg.dev/p/htbase/browser@sha256:aaa',
  monolithImage: 'europe-west1-docker.pkg.dev/p/htbase/monolith@sha256:bbb',
  functionsDir: fakeFunctionsDir(),
  captureTimeoutSeconds: 150,
  // The full deployment, Memorystore included; stack-redis-off.test.ts covers the default (off).
  redis: { ...defaults(PROJECT).redis, enabled: true },
});
export const { runTimeoutSeconds, ackDeadlineSeconds } = timings(cfg);
export const sa = (key: string) => `${cfg.prefix}-${key}@${PROJECT}.iam.gserviceaccount.com`;
export const GCP = (t: string) => `gcp:${t}`;

/** Builds the stack once (call it in `before`) and resolves its outputs. */
export async function deploy(): Promise<Record<string, unknown>> {
  const out = createStack(cfg, { geminiApiKey: 'AIza-test-key' });
  const outputs = Object.fromEntries(
    await Promise.all(Object.entries(out).map(async ([k, v]) => [k, await value(v as never)])),
  );
  await settle();
  return outputs;
}

export const service = (name: string) =>
  one(GCP('cloudrunv2/service:Service'), (r) => r.inputs.name === `${cfg.prefix}-${name}`);
export const fn = (name: string) =>
  one(GCP('cloudfunctionsv2/function:Function'), (r) => r.inputs.name === `${cfg.prefix}-${name}`);
export const envOf = (r: Recorded): Record<string, string> =>
  r.type.includes('cloudrunv2')
    ? Object.fromEntries(
        r.inputs.template.containers[0].envs
          .filter((e: any) => e.value !== undefined)
          .map((e: any) => [e.name, e.value]),
      )
    : r.inputs.serviceConfig.environmentVariables;
export const secretEnvOf = (r: Recorded): Record<string, string> =>
  r.type.includes('cloudrunv2')
    ? Object.fromEntries(
        r.inputs.template.containers[0].envs
          .filter((e: any) => e.valueSource)
          .map((e: any) => [e.name, e.valueSource.secretKeyRef.secret]),
      )
    : Object.fromEntries(r.inputs.serviceConfig.secretEnvironmentVariables.map((e: any) => [e.key, e.secret]));
export const invokers = (serviceName: string) =>
  ofType(GCP('cloudrunv2/serviceIamMember:ServiceIamMember'))
    .filter((r) => r.inputs.name === serviceName && r.inputs.role === 'roles/run.invoker')
    .map((r) => r.inputs.member)
    .sort();
