// Committed-secret detection, shared by the security scanner, the compliance checker and the code reviewer.
// Every pattern is plain RE2 syntax (no backreferences, no lookaround, no nested quantifiers: matching is linear in
// the line; a unit test compiles each one with RE2) and lines are cut at MAX_LINE characters before matching.
// Free-form "password = ..." assignments also need enough Shannon entropy to look like a real secret rather than
// a placeholder such as `changeme`.

export type SecretSeverity = 'critical' | 'high';

export interface SecretRule {
  readonly id: string;
  readonly description: string;
  readonly severity: SecretSeverity;
  /** RE2-compatible source; capture group 1, when present, is the secret itself. */
  readonly pattern: string;
  readonly flags: '' | 'i';
  /** Minimum Shannon entropy (bits per character) of the captured value; 0 = none. */
  readonly minEntropy: number;
}

export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'aws-access-key-id',
    description: 'AWS access key ID',
    severity: 'critical',
    pattern: '\\b((?:AKIA|ASIA)[0-9A-Z]{16})\\b',
    flags: '',
    minEntropy: 0,
  },
  {
    id: 'aws-secret-access-key',
    description: 'AWS secret access key',
    severity: 'critical',
    pattern: 'aws_?secret_?access_?key["\']?\\s{0,5}[:=]\\s{0,5}["\']?([A-Za-z0-9/+=]{40})\\b',
    flags: 'i',
    minEntropy: 3.5,
  },
  {
    id: 'private-key',
    description: 'private key (PEM)',
    severity: 'critical',
    pattern: '(-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)',
    flags: '',
    minEntropy: 0,
  },
  {
    id: 'github-token',
    description: 'GitHub token',
    severity: 'critical',
    pattern: '\\b(gh[pousr]_[A-Za-z0-9]{36})\\b',
    flags: '',
    minEntropy: 0,
  },
  {
    id: 'github-fine-grained-token',
    description: 'GitHub fine-grained personal access token',
    severity: 'critical',
    pattern: '\\b(github_pat_[A-Za-z0-9_]{82})\\b',
    flags: '',
    minEntropy: 0,
  },
  {
    id: 'slack-token',
    description: 'Slack token',
    severity: 'high',
    pattern: '\\b(xox[abprs]-[A-Za-z0-9-]{10,72})\\b',
    flags: '',
    minEntropy: 0,
  },
  {
    id: 'stripe-live-key',
    description: 'Stripe live secret key',
    severity: 'critical',
    pattern: '\\b(sk_live_[A-Za-z0-9]{24,99})\\b',
    flags: '',
    minEntropy: 0,
  },
  {
    id: 'generic-secret-assignment',
    description: 'high-entropy value assigned to a password, secret, token or API key',
    severity: 'high',
    pattern:
      '(?:password|passwd|secret|token|api_?key|access_?key)[A-Za-z0-9_]{0,20}["\']?\\s{0,5}[:=]\\s{0,5}["\']?([A-Za-z0-9/+=_.!@#$%^&*-]{12,128})',
    flags: 'i',
    minEntropy: 3.5,
  },
];

/** Lines longer than this are matched on their first MAX_LINE characters only (minified files). */
export const MAX_LINE = 4000;

export interface SecretFinding {
  readonly rule: string;
  readonly description: string;
  readonly severity: SecretSeverity;
  readonly file: string;
  readonly line: number;
  /** The secret itself: only ever written to outputs marked x-paddock-sensitive. */
  readonly match: string;
}

export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

const COMPILED = SECRET_RULES.map((rule) => ({ rule, re: new RegExp(rule.pattern, `g${rule.flags}`) }));

/** Finds secrets in one file's text. One finding per rule and line; a more specific rule wins over the generic one. */
export function findSecrets(file: string, text: string): SecretFinding[] {
  const out: SecretFinding[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').slice(0, MAX_LINE);
    const seen = new Set<string>();
    for (const { rule, re } of COMPILED) {
      re.lastIndex = 0;
      for (const m of line.matchAll(re)) {
        const value = m[1] ?? m[0];
        if (rule.minEntropy > 0 && shannonEntropy(value) < rule.minEntropy) continue;
        if (
          rule.id === 'generic-secret-assignment' &&
          [...seen].some((v) => v.includes(value) || value.includes(v))
        )
          continue;
        if (seen.has(value)) continue;
        seen.add(value);
        out.push({
          rule: rule.id,
          description: rule.description,
          severity: rule.severity,
          file,
          line: i + 1,
          match: value,
        });
      }
    }
  }
  return out;
}
