/**
 * `${VAR}` interpolation of one string, the docker-compose way users already know:
 *   ${VAR}           the value of VAR; unset is a problem naming VAR (no silent empty strings)
 *   ${VAR:-default}  default when VAR is unset or empty
 *   ${VAR-default}   default only when VAR is unset
 *   $${              a literal "${"
 * Problems carry the offset of their `${` in the input so the loader can turn it into a line
 * and column. Pure: the environment is a parameter.
 */

export interface InterpolationProblem {
  message: string;
  /** Offset of the offending `${` within the input string. */
  offset: number;
}

export interface Interpolated {
  value: string;
  /** True when at least one `${...}` was replaced (the loader then re-reads the scalar's type). */
  substituted: boolean;
  problems: InterpolationProblem[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolate(input: string, env: Record<string, string | undefined>): Interpolated {
  const problems: InterpolationProblem[] = [];
  let value = '';
  let substituted = false;
  let i = 0;
  while (i < input.length) {
    if (input.startsWith('$${', i)) {
      value += '${';
      i += 3;
      continue;
    }
    if (!input.startsWith('${', i)) {
      value += input[i];
      i += 1;
      continue;
    }
    const close = input.indexOf('}', i + 2);
    if (close < 0) {
      problems.push({ message: 'unterminated "${": close it with "}" (write "$${" for a literal "${")', offset: i });
      value += input.slice(i);
      break;
    }
    const body = input.slice(i + 2, close);
    const expression = parseExpression(body);
    if (!expression) {
      problems.push({
        message: `"\${${body}}" is not a variable reference: use \${NAME} or \${NAME:-default}`,
        offset: i,
      });
    } else {
      const current = env[expression.name];
      const missing = expression.emptyIsUnset ? current === undefined || current === '' : current === undefined;
      if (!missing) value += current;
      else if (expression.fallback !== undefined) value += expression.fallback;
      else {
        problems.push({
          message: `environment variable ${expression.name} is not set: set it or give a default with \${${expression.name}:-value}`,
          offset: i,
        });
      }
    }
    substituted = true;
    i = close + 1;
  }
  return { value, substituted, problems };
}

function parseExpression(body: string): { name: string; fallback?: string; emptyIsUnset: boolean } | undefined {
  const colon = body.indexOf(':-');
  const dash = body.indexOf('-');
  if (colon >= 0 && colon <= dash) {
    const name = body.slice(0, colon);
    return NAME.test(name) ? { name, fallback: body.slice(colon + 2), emptyIsUnset: true } : undefined;
  }
  if (dash >= 0) {
    const name = body.slice(0, dash);
    return NAME.test(name) ? { name, fallback: body.slice(dash + 1), emptyIsUnset: false } : undefined;
  }
  return NAME.test(body) ? { name: body, emptyIsUnset: false } : undefined;
}
