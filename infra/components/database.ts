// Database: Cloud SQL for PostgreSQL 15 on a private IP only, with backups, point-in-time recovery and
// deletion protection; the application user's password is generated and DATABASE_URL kept in Secret Manager.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { StoredSecret } from './secrets.ts';

export interface DatabaseArgs {
  prefix: string;
  region: string;
  /** VPC self link / id whose private services access range the instance lives in. */
  networkId: pulumi.Input<string>;
  /** The private services access peering; the instance cannot be created before it. */
  psaConnection: pulumi.Resource;
  tier: string;
  diskSizeGb: number;
  availability: 'ZONAL' | 'REGIONAL';
  backupRetainedCount: number;
  pitrDays: number;
  /** Deletion protection on the instance and its secret, and Pulumi's `protect`. */
  protect: boolean;
}

export const DB_NAME = 'htbase';
export const DB_USER = 'htbase';

export class Database extends pulumi.ComponentResource {
  readonly instance: gcp.sql.DatabaseInstance;
  readonly database: gcp.sql.Database;
  readonly user: gcp.sql.User;
  /** DATABASE_URL (postgres://user:password@private-ip:5432/htbase) in Secret Manager. */
  readonly url: StoredSecret;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:Database', name, {}, opts);
    const parent = { parent: this };
    this.instance = new gcp.sql.DatabaseInstance(
      `${name}-instance`,
      {
        name: `${args.prefix}-pg`,
        region: args.region,
        databaseVersion: 'POSTGRES_15',
        deletionProtection: args.protect,
        settings: {
          tier: args.tier,
          // Shared-core tiers exist only in Enterprise edition; PG 15 defaults to it, say so explicitly.
          edition: 'ENTERPRISE',
          availabilityType: args.availability,
          diskSize: args.diskSizeGb,
          diskType: 'PD_SSD',
          diskAutoresize: true,
          deletionProtectionEnabled: args.protect,
          ipConfiguration: {
            ipv4Enabled: false,
            privateNetwork: args.networkId,
            sslMode: 'ENCRYPTED_ONLY',
          },
          backupConfiguration: {
            enabled: true,
            startTime: '03:00',
            pointInTimeRecoveryEnabled: true,
            transactionLogRetentionDays: args.pitrDays,
            backupRetentionSettings: { retainedBackups: args.backupRetainedCount, retentionUnit: 'COUNT' },
          },
          maintenanceWindow: { day: 7, hour: 4, updateTrack: 'stable' },
          insightsConfig: { queryInsightsEnabled: true },
        },
      },
      { parent: this, dependsOn: [args.psaConnection], protect: args.protect },
    );
    this.database = new gcp.sql.Database(
      `${name}-db`,
      { name: DB_NAME, instance: this.instance.name },
      { parent: this, protect: args.protect },
    );
    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, parent);
    this.user = new gcp.sql.User(
      `${name}-user`,
      { name: DB_USER, instance: this.instance.name, password: password.result },
      parent,
    );
    // sslmode=no-verify: the server enforces TLS (ENCRYPTED_ONLY) on a private address; Cloud SQL's
    // certificate names the instance, not the IP, so hostname verification cannot pass.
    const url = pulumi.interpolate`postgres://${DB_USER}:${password.result}@${this.instance.privateIpAddress}:5432/${DB_NAME}?sslmode=no-verify`;
    this.url = new StoredSecret(
      `${name}-url`,
      { secretId: `${args.prefix}-database-url`, value: url, protect: args.protect },
      parent,
    );
    this.registerOutputs({ instance: this.instance.connectionName, privateIp: this.instance.privateIpAddress });
  }
}
