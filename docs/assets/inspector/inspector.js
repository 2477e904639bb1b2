// The inspector page: validates and shows a dropped .aigif file in the
// browser with the JavaScript implementation (js/src, which the site build
// puts into aigif/ beside this file: tools/docs/inspector_assets.py).
import { parse, validate, stringify, setDefaultPromptModel, registry } from './aigif/index.js';

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
let modelState = 'unloaded';

// The prompt coder's model (963 kB) is fetched only for files that use it.
async function ensurePromptModel(bytes) {
  if (modelState !== 'unloaded') return;
  const v = validate(bytes);
  if (v.code !== 'E_UNSUPPORTED') return;
  modelState = 'loading';
  try {
    const r = await fetch(new URL('prompt_model.bin', import.meta.url));
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    setDefaultPromptModel(new Uint8Array(await r.arrayBuffer()));
    modelState = 'loaded';
  } catch (e) {
    modelState = `unavailable (${e.message})`;
  }
}

// The leaves of a JSON text as [path, text] pairs, each value's text exactly as
// the JSON text has it (so 7.0 stays 7.0 and big seeds keep every digit):
// {"a":{"b":[1,"x"]}} -> [["a.b[0]", "1"], ["a.b[1]", "\"x\""]]. Empty
// objects and arrays are leaves too ({} and []).
function leaves(text) {
  const out = [];
  let i = 0;
  const ws = () => { while (' \t\r\n'.includes(text[i]) && i < text.length) i++; };
  const str = () => { // at '"': the end of the string literal
    let j = i + 1;
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  const val = (path) => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++; ws();
      if (text[i] === close) { i++; out.push([path, c + close]); return; }
      for (let n = 0; ; n++) {
        ws();
        let name;
        if (c === '{') {
          const end = str();
          const key = JSON.parse(text.slice(i, end));
          name = path ? `${path}.${key}` : key;
          i = end; ws(); i++; // ':'
        } else name = `${path}[${n}]`;
        val(name); ws();
        if (text[i++] === close) return;
      }
    }
    const start = i;
    if (c === '"') i = str();
    else while (i < text.length && !',]} \t\r\n'.includes(text[i])) i++;
    out.push([path, text.slice(start, i)]);
  };
  val('');
  return out;
}

const LONG = 240; // longer values (pixel data, long prompts) are cut in the table
function shown(text) {
  if (text.length <= LONG) return text;
  return `${text.slice(0, LONG)}… (${text.length} characters)`;
}

function hexdump(bytes, mark) {
  const lines = [];
  const from = mark === null ? 0 : Math.max(0, (mark & ~15) - 64);
  const to = Math.min(bytes.length, from + 512);
  for (let o = from; o < to; o += 16) {
    let hex = '', asc = '';
    for (let i = o; i < Math.min(o + 16, to); i++) {
      const h = bytes[i].toString(16).padStart(2, '0');
      const c = bytes[i] >= 32 && bytes[i] < 127 ? esc(String.fromCharCode(bytes[i])) : '.';
      hex += i === mark ? `<mark>${h}</mark> ` : `${h} `;
      asc += i === mark ? `<mark>${c}</mark>` : c;
    }
    lines.push(`${o.toString(16).padStart(8, '0')}  ${hex.padEnd(48)} ${asc}`);
  }
  if (to < bytes.length) lines.push(`… ${bytes.length - to} more bytes`);
  return lines.join('\n');
}

async function show(name, bytes) {
  await ensurePromptModel(bytes);
  const v = validate(bytes);
  const out = $('aigif-result');
  let html = `<p><strong>${esc(name)}</strong>: ${bytes.length} bytes, registry ${esc(registry.version)}.</p>`;
  if (v.valid) {
    const json = stringify(parse(bytes));
    html += '<p class="aigif-valid" id="aigif-verdict" data-valid="true">✔ valid</p>';
    html += '<table id="aigif-fields"><thead><tr><th>field</th><th>value</th></tr></thead><tbody>' +
      leaves(json).map(([k, x]) => `<tr><td><code>${esc(k)}</code></td><td>${esc(shown(x))}</td></tr>`).join('') +
      '</tbody></table>';
    html += `<details><summary>JSON (what <code>aigif info</code> prints)</summary><pre><code id="aigif-json">${esc(json)}</code></pre></details>`;
  } else {
    html += `<p class="aigif-invalid" id="aigif-verdict" data-valid="false" data-code="${esc(v.code)}" data-offset="${esc(v.offset)}">` +
      `✘ invalid: <code>${esc(v.code)}</code> at byte ${esc(v.offset)}: ${esc(v.message)}</p>`;
    if (v.code === 'E_UNSUPPORTED') html += `<p>The prompt coder's model is ${esc(modelState)}.</p>`;
  }
  html += `<details${v.valid ? '' : ' open'}><summary>Bytes${v.valid ? '' : ' around the error'}</summary><pre><code>${hexdump(bytes, v.valid ? null : v.offset)}</code></pre></details>`;
  out.innerHTML = html;
}

// inspector.html?file=URL shows the file at URL (same site, or one that allows it):
// a link can open a file in the inspector, and tests/test_docs.py drives the page so.
async function fromQuery() {
  const url = new URLSearchParams(window.location.search).get('file');
  if (!url) return;
  const name = url.split('/').pop();
  try {
    const r = await fetch(new URL(url, window.location.href));
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    await show(name, new Uint8Array(await r.arrayBuffer()));
  } catch (e) {
    $('aigif-result').innerHTML = `<p class="aigif-invalid" id="aigif-verdict" data-valid="error">Could not load ${esc(url)}: ${esc(e.message)}</p>`;
  }
  document.body.dataset.aigifDone = 'true';
}

function init() {
  const drop = $('aigif-drop'), input = $('aigif-file');
  if (!drop || !input) return;
  fromQuery();
  const take = async (file) => show(file.name, new Uint8Array(await file.arrayBuffer()));
  input.addEventListener('change', () => input.files[0] && take(input.files[0]));
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('aigif-over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('aigif-over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault(); drop.classList.remove('aigif-over');
    if (e.dataTransfer.files[0]) take(e.dataTransfer.files[0]);
  });
}

init();
