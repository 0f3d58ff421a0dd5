// Network: the VPC, its subnet for Direct VPC egress, private services access (Cloud SQL, and Memorystore when
// on, get private addresses in a peered range) and egress firewall rules that keep capture workers off the VPC.
// Cloud SQL's private IP needs all of it whether Redis is on or not; only the Redis port opens with Redis.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface NetworkArgs {
  prefix: string;
  region: string;
  /** Subnet for Direct VPC egress; Cloud Run takes addresses from it per instance (a /24 serves ~100 instances). */
  subnetCidr: string;
  /** Size of the range reserved for Google-managed services (Cloud SQL, Redis). */
  psaPrefixLength: number;
  /** Network tag carried by the capture workers; they may reach only Postgres (and Redis if any) inside the VPC. */
  captureTag: string;
  /** Whether Memorystore lives on the range: only then may capture workers reach its port (6379). */
  redis: boolean;
}

/** RFC 1918 plus CGNAT: everything private a capture must never reach through the VPC. */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'];

export class Network extends pulumi.ComponentResource {
  readonly network: gcp.compute.Network;
  readonly subnet: gcp.compute.Subnetwork;
  readonly psaRange: gcp.compute.GlobalAddress;
  /** Depend on this before creating Cloud SQL or Redis: the peering must exist first. */
  readonly psaConnection: gcp.servicenetworking.Connection;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:Network', name, {}, opts);
    const parent = { parent: this };
    this.network = new gcp.compute.Network(
      `${name}-vpc`,
      { name: `${args.prefix}-vpc`, autoCreateSubnetworks: false, routingMode: 'REGIONAL' },
      parent,
    );
    this.subnet = new gcp.compute.Subnetwork(
      `${name}-subnet`,
      {
        name: `${args.prefix}-run`,
        region: args.region,
        network: this.network.id,
        ipCidrRange: args.subnetCidr,
        privateIpGoogleAccess: true,
      },
      parent,
    );
    this.psaRange = new gcp.compute.GlobalAddress(
      `${name}-psa-range`,
      {
        name: `${args.prefix}-psa`,
        purpose: 'VPC_PEERING',
        addressType: 'INTERNAL',
        prefixLength: args.psaPrefixLength,
        network: this.network.id,
      },
      parent,
    );
    this.psaConnection = new gcp.servicenetworking.Connection(
      `${name}-psa`,
      {
        network: this.network.id,
        service: 'servicenetworking.googleapis.com',
        reservedPeeringRanges: [this.psaRange.name],
      },
      parent,
    );
    // Defence in depth behind the SSRF guard: a capture that slips past it still cannot touch anything
    // private in the VPC except the ports it needs on the managed-services range (Postgres, Redis when on).
    const psaCidr = pulumi.interpolate`${this.psaRange.address}/${args.psaPrefixLength}`;
    new gcp.compute.Firewall(
      `${name}-capture-allow-data`,
      {
        name: `${args.prefix}-capture-allow-data`,
        network: this.network.id,
        direction: 'EGRESS',
        priority: 900,
        targetTags: [args.captureTag],
        destinationRanges: [psaCidr],
        allows: [{ protocol: 'tcp', ports: ['5432', ...(args.redis ? ['6379'] : [])] }],
      },
      parent,
    );
    new gcp.compute.Firewall(
      `${name}-capture-deny-private`,
      {
        name: `${args.prefix}-capture-deny-private`,
        network: this.network.id,
        direction: 'EGRESS',
        priority: 1000,
        targetTags: [args.captureTag],
        destinationRanges: PRIVATE_RANGES,
        denies: [{ protocol: 'all' }],
      },
      parent,
    );
    this.registerOutputs({ network: this.network.id, subnet: this.subnet.id });
  }
}
