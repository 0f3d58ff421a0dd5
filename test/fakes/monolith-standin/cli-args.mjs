// The monolith stand-in's command line, parsed as monolith 2.10's clap parser does: short and long flags,
// clustered short flags, values inline or next, one target; argument errors exit 2 with clap's wording.

export const VERSION = '2.10.1-standin';
const DEFAULT_TIMEOUT_SEC = 120;
const DEFAULT_USER_AGENT = 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:135.0) Gecko/20100101 Firefox/135.0';
const FLAGS = {
  a: 'no_audio',
  B: 'blacklist_domains',
  c: 'no_css',
  e: 'ignore_errors',
  f: 'no_frames',
  F: 'no_fonts',
  i: 'no_images',
  I: 'isolate',
  j: 'no_js',
  k: 'insecure',
  m: 'mhtml',
  M: 'no_metadata',
  n: 'unwrap_noscript',
  q: 'quiet',
  v: 'no_video',
};
const VALUED = {
  b: 'base_url',
  C: 'cookie_file',
  d: 'domain',
  E: 'encoding',
  o: 'output',
  t: 'timeout',
  u: 'user_agent',
};
const LONG = {
  'no-audio': 'a',
  'base-url': 'b',
  'blacklist-domains': 'B',
  'no-css': 'c',
  'cookie-file': 'C',
  domain: 'd',
  'ignore-errors': 'e',
  encoding: 'E',
  'no-frames': 'f',
  'no-fonts': 'F',
  'no-images': 'i',
  isolate: 'I',
  'no-js': 'j',
  insecure: 'k',
  mhtml: 'm',
  'no-metadata': 'M',
  'unwrap-noscript': 'n',
  output: 'o',
  quiet: 'q',
  timeout: 't',
  'user-agent': 'u',
  'no-video': 'v',
  version: 'V',
  help: 'h',
};

function usageError(message) {
  process.stderr.write(
    `error: ${message}\n\nUsage: monolith [OPTIONS] <TARGET>\n\nFor more information, try '--help'.\n`,
  );
  process.exit(2);
}

export function parseArgs(argv) {
  const o = { domain: [] };
  const positionals = [];
  const setValued = (letter, value) => {
    const key = VALUED[letter];
    if (key === 'domain') o.domain.push(value);
    else o[key] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s);
      const letter = LONG[name];
      if (!letter) usageError(`unexpected argument '${arg}' found`);
      if (letter === 'V') return { version: true };
      if (letter === 'h') return { help: true };
      if (VALUED[letter]) {
        const value = inline ?? argv[++i];
        if (value === undefined) usageError(`a value is required for '--${name}' but none was supplied`);
        setValued(letter, value);
      } else o[FLAGS[letter]] = true;
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') {
      const letters = arg.slice(1);
      for (let j = 0; j < letters.length; j++) {
        const letter = letters[j];
        if (letter === 'V') return { version: true };
        if (letter === 'h') return { help: true };
        if (VALUED[letter]) {
          let value = letters.slice(j + 1);
          if (value.startsWith('=')) value = value.slice(1);
          if (!value) value = argv[++i];
          if (value === undefined) usageError(`a value is required for '-${letter}' but none was supplied`);
          setValued(letter, value);
          break;
        }
        if (!FLAGS[letter]) usageError(`unexpected argument '-${letter}' found`);
        o[FLAGS[letter]] = true;
      }
      continue;
    }
    positionals.push(arg);
  }
  if (positionals.length === 0) usageError('the following required arguments were not provided:\n  <TARGET>');
  if (positionals.length > 1) usageError(`unexpected argument '${positionals[1]}' found`);
  o.target = positionals[0];
  if (o.timeout !== undefined && !/^\d+$/.test(o.timeout))
    usageError(`invalid value '${o.timeout}' for '--timeout <60>': invalid digit found in string`);
  o.timeoutSec = o.timeout === undefined ? DEFAULT_TIMEOUT_SEC : Number(o.timeout);
  o.userAgent = o.user_agent ?? DEFAULT_USER_AGENT;
  return o;
}
