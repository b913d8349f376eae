// `schedule --container fetch`: tasks get the CLI through the Mesos fetcher (CommandInfo.uris, extracted into the
// sandbox and cached per agent) instead of an image or an installed copy. This module checks the mode's flags and
// decides where the bundle comes from: the scheduler's own endpoint (a bundle built at start, or --bundle), or
// --bundle-uri where the operator hosts it.
import { readFileSync } from 'node:fs';
import { buildBundle, DIGEST_PREFIX, readBundle, type Bundle } from '../bundle/bundle.js';
import { expectedBundle } from '../bundle/expect.js';
import type { Logger } from '../log.js';

export interface FetchFlags {
  bundle?: string;
  bundleUri?: string;
  nodeUri?: string;
}

export interface FetchSettings {
  /** The bundle read from --bundle (checked); undefined: built at start, or only known by --bundle-uri. */
  bundle?: Bundle;
  bundleUri?: string;
  nodeUri?: string;
}

/** What the task specs need: URIs for the fetcher, the node to run and the bundle the task must be. */
export interface FetchOptions {
  bundleUri: string;
  nodeUri?: string;
  /** The node executable: `node` from the agent's PATH, or the one --node-uri extracts into the sandbox. */
  node: string;
  /** MESOS_MINER_EXPECT_BUNDLE for the tasks. */
  expect: string;
}

/** Archive names the fetcher extracts (it picks by the end of the name). */
const TAR_GZ = /\.(tar\.gz|tgz)$/;
const NODE_ARCHIVE = /\.(tar\.gz|tgz|tar\.xz|txz)$/;

/**
 * A URI the Mesos fetcher can get: http(s), ftp(s) or file URLs and absolute paths itself, anything else with a
 * scheme (hdfs://, s3a://...) through the agent's Hadoop client. The file name must end as the fetcher expects,
 * since it chooses whether and how to extract by the name alone.
 */
export function parseFetcherUri(flag: string, value: string, archive: RegExp, kinds: string): string {
  const uri = value.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(uri)?.[1];
  if (!scheme && !uri.startsWith('/')) throw new Error(`${flag} must be a URI (http://, https://, hdfs://, s3a://, file://) or an absolute path, got '${value}'`);
  if (scheme) {
    try {
      new URL(uri);
    } catch {
      throw new Error(`${flag} is not a valid URI: '${value}'`);
    }
  }
  const name = uri.replace(/[?#].*$/, '').split('/').pop() ?? '';
  if (!archive.test(name)) throw new Error(`${flag} must name ${kinds} (the fetcher extracts by the file name), got '${value}'`);
  return uri;
}

/** Where a Node.js tarball laid out like nodejs.org's (`node-v20.x-linux-x64/bin/node`) puts node in the sandbox. */
export function nodeInSandbox(nodeUri: string): string {
  const name = nodeUri.replace(/[?#].*$/, '').split('/').pop()!;
  return `${name.replace(NODE_ARCHIVE, '')}/bin/node`;
}

function readBundleFile(path: string, version: string): Bundle {
  let bundle: Bundle;
  try {
    bundle = readBundle(readFileSync(path));
  } catch (err) {
    throw new Error(`--bundle: ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (bundle.manifest.version !== version) {
    throw new Error(`--bundle: ${path} holds mesos-miner ${bundle.manifest.version}, this scheduler is ${version} (tasks get its command lines): make one with this version (mesos-miner bundle)`);
  }
  return bundle;
}

/** Checks the fetch mode's flags; with another --container mode none of them may be given. */
export function parseFetchFlags(flags: FetchFlags, mode: string, version: string, http: boolean): FetchSettings | undefined {
  if (mode !== 'fetch') {
    for (const [flag, value] of [['--bundle', flags.bundle], ['--bundle-uri', flags.bundleUri], ['--node-uri', flags.nodeUri]] as const) {
      if (value !== undefined) throw new Error(`${flag} needs --container fetch`);
    }
    return undefined;
  }
  const bundleUri = flags.bundleUri === undefined ? undefined : parseFetcherUri('--bundle-uri', flags.bundleUri, TAR_GZ, 'a .tar.gz or .tgz file');
  if (!bundleUri && !http) throw new Error('--container fetch serves the bundle on the --http endpoint: give --http host:port, or --bundle-uri where agents fetch it');
  const nodeUri = flags.nodeUri === undefined ? undefined : parseFetcherUri('--node-uri', flags.nodeUri, NODE_ARCHIVE, 'a Node.js .tar.gz, .tgz, .tar.xz or .txz');
  const bundle = flags.bundle === undefined ? undefined : readBundleFile(flags.bundle, version);
  return { ...(bundle ? { bundle } : {}), ...(bundleUri ? { bundleUri } : {}), ...(nodeUri ? { nodeUri } : {}) };
}

/**
 * The tasks' fetch options once the bundle's URI is known: --bundle-uri, else the scheduler's endpoint
 * (`<advertised URL>/artifacts/<content-addressed name>`). The version check covers the contents whenever the
 * scheduler has the bundle; for a --bundle-uri alone it knows only its own version.
 */
export function fetchOptions(settings: FetchSettings, bundle: Bundle | undefined, version: string, advertiseUrl: string | undefined): FetchOptions {
  const bundleUri = settings.bundleUri ?? (bundle && advertiseUrl ? `${advertiseUrl}/artifacts/${bundle.fileName}` : undefined);
  if (!bundleUri) throw new Error('no bundle URI: --bundle-uri, or a bundle served on --http');
  return {
    bundleUri,
    ...(settings.nodeUri ? { nodeUri: settings.nodeUri } : {}),
    node: settings.nodeUri ? nodeInSandbox(settings.nodeUri) : 'node',
    expect: expectedBundle(version, bundle?.manifest.digest),
  };
}

/** The bundle the scheduler knows: --bundle, else (unless --bundle-uri) this installation's own, built now. */
export function schedulerBundle(settings: FetchSettings): Bundle | undefined {
  return settings.bundle ?? (settings.bundleUri ? undefined : buildBundle());
}

/** Where the tasks' bundle comes from, and warnings for URLs that cannot work everywhere. */
export function logBundleSource(log: Logger, fetch: FetchOptions, bundle: Bundle | undefined, served: boolean): void {
  log.info({
    uri: fetch.bundleUri, expect: fetch.expect, node: fetch.node,
    ...(bundle ? { bytes: bundle.bytes.length, sha256: bundle.sha256 } : {}),
  }, served ? 'serving the bundle to the agents\' fetchers' : 'agents fetch the bundle from --bundle-uri');
  if (served && /^https?:\/\/(127\.|localhost[:/]|\[::1\])/.test(fetch.bundleUri)) {
    log.warn({ uri: fetch.bundleUri }, 'the bundle URL is a loopback address: only an agent on this machine can fetch it (use --http 0.0.0.0:PORT or --advertise-url)');
  }
  if (!served && bundle && !fetch.bundleUri.includes(bundle.manifest.digest.slice(0, DIGEST_PREFIX))) {
    log.warn({ uri: fetch.bundleUri, expected: bundle.fileName }, '--bundle-uri does not name the bundle\'s contents: an agent that cached another bundle under this URI runs that one, and its tasks fail the version check');
  }
}
