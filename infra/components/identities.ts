// Identities: one service account per deployable and per invoking identity (see roles.ts for what each
// may do). Created first so everything else can name them.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { SERVICE_ACCOUNTS, type AccountKey } from '../roles.ts';

export interface IdentitiesArgs {
  prefix: string;
  project: string;
}

export class Identities extends pulumi.ComponentResource {
  readonly accounts: Record<AccountKey, gcp.serviceaccount.Account>;

  constructor(name: string, args: IdentitiesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:Identities', name, {}, opts);
    const entries = (Object.keys(SERVICE_ACCOUNTS) as AccountKey[]).map((key) => {
      const account = new gcp.serviceaccount.Account(
        `${name}-${key}`,
        {
          project: args.project,
          accountId: `${args.prefix}-${key}`,
          displayName: `HT Base ${key}`,
          description: SERVICE_ACCOUNTS[key],
        },
        { parent: this },
      );
      return [key, account] as const;
    });
    this.accounts = Object.fromEntries(entries) as Record<AccountKey, gcp.serviceaccount.Account>;
    this.registerOutputs({});
  }

  email(key: AccountKey): pulumi.Output<string> {
    return this.accounts[key].email;
  }
}
