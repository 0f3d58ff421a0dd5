// Stands in for the Pulumi engine and the Google Cloud provider (no Pulumi CLI here, no network): Pulumi's
// own runtime mocks record every resource the program registers, echo its inputs and fill in the few
// outputs Google computes (emails, URLs, private IPs), so tests can inspect the whole deployment.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
  state: Record<string, any>;
  /** The provider reference (`urn::id`) the resource was registered with, if not the default provider. */
  provider?: string;
}

export const PROJECT = 'htbase-test-123';
export const PROJECT_NUMBER = '987654321';

/** Outputs Google would compute, per resource type. */
function computed(type: string, name: string, i: Record<string, any>): Record<string, any> {
  switch (type) {
    case 'gcp:serviceaccount/account:Account': {
      const email = `${i.accountId}@${PROJECT}.iam.gserviceaccount.com`;
      return { email, name: `projects/${PROJECT}/serviceAccounts/${email}`, member: `serviceAccount:${email}` };
    }
    case 'gcp:cloudrunv2/service:Service':
      return { uri: `https://${i.name}-abc123-uc.a.run.app` };
    case 'gcp:cloudfunctionsv2/function:Function':
      return {
        url: `https://${i.location}-${PROJECT}.cloudfunctions.net/${i.name}`,
        serviceConfig: {
          ...i.serviceConfig,
          uri: `https://${i.name}-abc123-uc.a.run.app`,
          service: `projects/${PROJECT}/locations/${i.location}/services/${i.name}`,
        },
      };
    case 'gcp:sql/databaseInstance:DatabaseInstance':
      return { privateIpAddress: '10.99.0.3', connectionName: `${PROJECT}:${i.region}:${i.name}` };
    case 'gcp:redis/instance:Instance':
      return { host: '10.99.16.4', port: 6379, authString: 'redis-auth-string' };
    case 'gcp:secretmanager/secret:Secret':
      return { name: `projects/${PROJECT_NUMBER}/secrets/${i.secretId}` };
    case 'gcp:secretmanager/secretVersion:SecretVersion':
      return { version: '1', name: `${i.secret}/versions/1` };
    case 'gcp:compute/globalAddress:GlobalAddress':
      return { address: '10.99.0.0' };
    case 'gcp:firebaserules/ruleset:Ruleset':
      // The provider (DCL-based) stores `name` short-form, dcl.SelfLinkToName: the bare ruleset id; the docs'
      // own Release example interpolates `projects/{project}/rulesets/${ruleset.name}`), never the full path.
      return { name: 'ruleset-1' };
    case 'gcp:projects/serviceIdentity:ServiceIdentity': {
      const agent = String(i.service).split('.')[0];
      const email = `service-${PROJECT_NUMBER}@gcp-sa-${agent}.iam.gserviceaccount.com`;
      return { email, member: `serviceAccount:${email}` };
    }
    case 'random:index/randomPassword:RandomPassword':
      return { result: 'generated-password-32-chars-long' };
    case 'gcp:artifactregistry/repository:Repository':
      return { name: i.repositoryId };
    case 'gcp:compute/network:Network':
      return { selfLink: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/networks/${i.name}` };
    default:
      return { name: i.name ?? name };
  }
}

/** Resource ids in Google's formats, so references between resources read like the real ones. */
function idFor(type: string, name: string, i: Record<string, any>): string {
  switch (type) {
    case 'gcp:pubsub/topic:Topic':
      return `projects/${PROJECT}/topics/${i.name}`;
    case 'gcp:pubsub/subscription:Subscription':
      return `projects/${PROJECT}/subscriptions/${i.name}`;
    case 'gcp:secretmanager/secret:Secret':
      return `projects/${PROJECT}/secrets/${i.secretId}`;
    case 'gcp:artifactregistry/repository:Repository':
      return `projects/${PROJECT}/locations/${i.location}/repositories/${i.repositoryId}`;
    case 'gcp:cloudtasks/queue:Queue':
      return `projects/${PROJECT}/locations/${i.location}/queues/${i.name}`;
    case 'gcp:compute/network:Network':
      return `projects/${PROJECT}/global/networks/${i.name}`;
    case 'gcp:compute/subnetwork:Subnetwork':
      return `projects/${PROJECT}/regions/${i.region}/subnetworks/${i.name}`;
    case 'gcp:serviceaccount/account:Account':
      return `projects/${PROJECT}/serviceAccounts/${i.accountId}@${PROJECT}.iam.gserviceaccount.com`;
    default:
      return `${name}-id`;
  }
}

export const recorded: Recorded[] = [];
export const calls: { token: string; inputs: any }[] = [];

export async function installMocks(): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = { ...args.inputs, ...computed(args.type, args.name, args.inputs) };
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs, state, provider: args.provider });
        return { id: idFor(args.type, args.name, args.inputs), state };
      },
      call(args) {
        calls.push({ token: args.token, inputs: args.inputs });
        if (args.token === 'gcp:organizations/getProject:getProject')
          return { projectId: PROJECT, number: PROJECT_NUMBER, name: PROJECT };
        if (args.token === 'gcp:storage/getProjectServiceAccount:getProjectServiceAccount') {
          return {
            project: PROJECT,
            emailAddress: `service-${PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`,
          };
        }
        throw new Error(`unexpected provider call ${args.token}`);
      },
    },
    'htbase',
    'test',
    false,
  );
}

/** Resolves a Pulumi output (mocks are not a preview, so every value is known). */
export function value<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** Waits until the program stops registering resources (outputs settle in several async waves). */
export async function settle(quietMs = 150, maxMs = 20_000): Promise<void> {
  const start = Date.now();
  let last = -1;
  let quietSince = Date.now();
  while (Date.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, 25));
    if (recorded.length !== last) {
      last = recorded.length;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) return;
  }
  throw new Error('the program kept registering resources');
}

/** A functions dist folder with tiny bundles, as `npm run build:functions` would leave it. */
export function fakeFunctionsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'htbase-fn-'));
  for (const fn of ['api', 'summarize', 'sync', 'sweep']) {
    mkdirSync(join(dir, fn));
    writeFileSync(join(dir, fn, 'package.json'), JSON.stringify({ name: fn, type: 'module', main: 'index.js' }));
    writeFileSync(join(dir, fn, 'index.js'), `// ${fn}\n`);
  }
  return dir;
}

const SECRET_SIG = '4dabf18193072939515e22adb298388d';
/** The plain value of an input Pulumi marked secret; throws if it was not marked (it would sit in state in clear). */
export function secretValue(v: any): string {
  if (!v || typeof v !== 'object' || !(SECRET_SIG in v))
    throw new Error(`expected a Pulumi secret, got ${JSON.stringify(v)}`);
  return v.value;
}

export const ofType = (type: string) => recorded.filter((r) => r.type === type);
export const one = (type: string, pred: (r: Recorded) => boolean): Recorded => {
  const found = recorded.filter((r) => r.type === type && pred(r));
  if (found.length !== 1) throw new Error(`expected one ${type} matching, found ${found.length}`);
  return found[0];
};
