// RFC 6901 JSON Pointer evaluation. "~1" decodes to "/" and "~0" to "~", in that
// order; array indices must be canonical decimal ("0", "12", never "01" or "-").
function resolve(document, pointer) {
  if (pointer === '') return { found: true, value: document };
  let node = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= node.length) return { found: false };
      node = node[Number(token)];
    } else if (node !== null && typeof node === 'object' && Object.prototype.hasOwnProperty.call(node, token)) {
      node = node[token];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: node };
}

export default function run(input) {
  return { results: input.pointers.map((pointer) => ({ pointer, ...resolve(input.document, pointer) })) };
}
