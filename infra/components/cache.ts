// Cache: Memorystore for Redis on private services access with AUTH on; REDIS_URL (with the AUTH
// string) goes to Secret Manager. Holds rate limits and per-host capture slots. Optional: the stack makes
// it only when `htbase:redis` is on; without it rate limits count in Cloud SQL.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { StoredSecret } from './secrets.ts';

export interface CacheArgs {
  prefix: string;
  region: string;
  networkId: pulumi.Input<string>;
  psaConnection: pulumi.Resource;
  memoryGb: number;
  tier: 'BASIC' | 'STANDARD_HA';
}

export class Cache extends pulumi.ComponentResource {
  readonly instance: gcp.redis.Instance;
  readonly url: StoredSecret;

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:Cache', name, {}, opts);
    this.instance = new gcp.redis.Instance(
      `${name}-redis`,
      {
        name: `${args.prefix}-redis`,
        region: args.region,
        tier: args.tier,
        memorySizeGb: args.memoryGb,
        redisVersion: 'REDIS_7_2',
        connectMode: 'PRIVATE_SERVICE_ACCESS',
        authorizedNetwork: args.networkId,
        authEnabled: true,
        // In-transit TLS would need the instance CA in every client; traffic stays on the private
        // peering and AUTH is required. Switch to SERVER_AUTHENTICATION with REDIS_URL=rediss:// + CA.
        transitEncryptionMode: 'DISABLED',
        // Everything in Redis is rebuildable (limits, slots): no persistence needed.
        persistenceConfig: { persistenceMode: 'DISABLED' },
      },
      { parent: this, dependsOn: [args.psaConnection] },
    );
    const url = pulumi.interpolate`redis://:${this.instance.authString}@${this.instance.host}:${this.instance.port}`;
    this.url = new StoredSecret(`${name}-url`, { secretId: `${args.prefix}-redis-url`, value: url }, { parent: this });
    this.registerOutputs({ host: this.instance.host });
  }
}
