// ArtifactStore: the private artifacts bucket (uniform access, public access prevention enforced, soft
// delete, lifecycle, optional retention policy that may be locked) and the private bucket that holds the function source bundles.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface ArtifactStoreArgs {
  project: string;
  prefix: string;
  region: string;
  /** Move objects to Nearline after this many days (0 = never). */
  nearlineAfterDays: number;
  /** Delete objects after this many days (0 = keep forever: an archive is meant to last). */
  deleteAfterDays: number;
  /** Deleted objects stay restorable this long (7-90 days). */
  softDeleteDays: number;
  /** No object can be deleted or replaced before this age (0 or unset: no retention policy). */
  retentionDays?: number;
  /** Lock the retention policy: it can then be lengthened, never shortened or removed (irreversible). */
  retentionLocked?: boolean;
  protect: boolean;
}

export class ArtifactStore extends pulumi.ComponentResource {
  readonly bucket: gcp.storage.Bucket;
  readonly sourceBucket: gcp.storage.Bucket;

  constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:ArtifactStore', name, {}, opts);
    const lifecycleRules: gcp.types.input.storage.BucketLifecycleRule[] = [
      // A capture killed mid-upload leaves parts behind; nothing resumes them after a day.
      { action: { type: 'AbortIncompleteMultipartUpload' }, condition: { age: 1 } },
    ];
    if (args.nearlineAfterDays > 0) {
      lifecycleRules.push({
        action: { type: 'SetStorageClass', storageClass: 'NEARLINE' },
        condition: { age: args.nearlineAfterDays, matchesStorageClasses: ['STANDARD'] },
      });
    }
    if (args.deleteAfterDays > 0)
      lifecycleRules.push({ action: { type: 'Delete' }, condition: { age: args.deleteAfterDays } });
    this.bucket = new gcp.storage.Bucket(
      `${name}-artifacts`,
      {
        name: `${args.project}-${args.prefix}-artifacts`,
        location: args.region,
        storageClass: 'STANDARD',
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        // Soft delete rather than versioning: an artifact is written once, so versions would only
        // keep garbage, while soft delete undoes an accidental DELETE /archives/{id} or bucket wipe.
        softDeletePolicy: { retentionDurationSeconds: args.softDeleteDays * 86_400 },
        versioning: { enabled: false },
        lifecycleRules,
        ...(args.retentionDays
          ? {
              retentionPolicy: {
                retentionPeriod: String(args.retentionDays * 86_400),
                isLocked: !!args.retentionLocked,
              },
            }
          : {}),
        forceDestroy: !args.protect,
      },
      { parent: this, protect: args.protect },
    );
    this.sourceBucket = new gcp.storage.Bucket(
      `${name}-function-source`,
      {
        name: `${args.project}-${args.prefix}-fn-source`,
        location: args.region,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        // Old bundles are only useful for a rollback; a month of them is plenty.
        lifecycleRules: [{ action: { type: 'Delete' }, condition: { age: 30, withState: 'ARCHIVED' } }],
        versioning: { enabled: true },
        forceDestroy: true,
      },
      { parent: this },
    );
    this.registerOutputs({ bucket: this.bucket.name, sourceBucket: this.sourceBucket.name });
  }
}
