// Reads JSON with // and /* */ comments (the bridge config is commented for people editing it on the Pi).
export class JsoncError extends Error {}

/** Strips comments outside strings, then parses; keeps line numbers in errors. */
export function parseJsonc(text: string): unknown {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i++;
    } else if (c === '"') {
      inString = true;
      out += c;
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const chunk = end < 0 ? text.slice(i) : text.slice(i, end + 2);
      out += chunk.replace(/[^\n]/g, ' ');
      i += chunk.length;
    } else {
      out += c;
      i++;
    }
  }
  // Trailing commas are the most common hand-editing slip; accept them.
  out = out.replace(/,(\s*[}\]])/g, '$1');
  try {
    return JSON.parse(out);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    if (pos) {
      const line = out.slice(0, Number(pos[1])).split('\n').length;
      throw new JsoncError(`${msg.replace(/ in JSON at position \d+.*/, '')} (line ${line})`);
    }
    throw new JsoncError(msg);
  }
}
