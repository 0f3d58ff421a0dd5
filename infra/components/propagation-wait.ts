// PropagationWait: a deliberate pause between IAM grants and what needs them. IAM changes take up to a few
// minutes to apply (Google documents "typically 2 minutes, up to 7"); without the pause the first `pulumi up`
// creates the functions while their build account still cannot read its source, and the build fails.
import * as pulumi from '@pulumi/pulumi';

export interface PropagationWaitArgs {
  /** Seconds to wait once the resources it depends on exist. */
  seconds: number;
  /** Anything whose change should wait again (e.g. the grants' ids); a plain re-deploy does not wait. */
  triggers: pulumi.Input<pulumi.Input<string>[]>;
}

interface WaitInputs {
  seconds: number;
  triggers: string[];
}

/**
 * A provider with no outside call: create and a change of triggers sleep; everything else is instant. Kept
 * free of imports so Pulumi can serialize it (dynamic providers are shipped to the engine as source text).
 */
export const sleeper: pulumi.dynamic.ResourceProvider = {
  async create(inputs: WaitInputs) {
    await new Promise((r) => setTimeout(r, inputs.seconds * 1000));
    return { id: `wait-${Date.now()}`, outs: inputs };
  },
  async diff(_id: string, olds: WaitInputs, news: WaitInputs) {
    const changed = JSON.stringify(olds.triggers) !== JSON.stringify(news.triggers);
    return { changes: changed || olds.seconds !== news.seconds, replaces: changed ? ['triggers'] : [] };
  },
  async update(_id: string, _olds: WaitInputs, news: WaitInputs) {
    return { outs: news };
  },
};

export class PropagationWait extends pulumi.dynamic.Resource {
  declare readonly seconds: pulumi.Output<number>;

  constructor(name: string, args: PropagationWaitArgs, opts?: pulumi.CustomResourceOptions) {
    super(sleeper, name, { seconds: args.seconds, triggers: args.triggers }, opts, 'htbase', 'PropagationWait');
  }
}
