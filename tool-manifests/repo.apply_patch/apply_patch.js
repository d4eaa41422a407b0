// Applies edits in order. An edit applies only when its `find` text occurs
// exactly once in the file as it stands, so an ambiguous edit is refused
// rather than guessed. All-or-nothing: any error leaves every file unchanged.
function occurrences(haystack, needle) {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) count++;
  return count;
}

export default function run(input) {
  const files = Object.assign(Object.create(null), input.files);
  const errors = [];
  const changed = new Set();
  input.edits.forEach((edit, index) => {
    if (!Object.prototype.hasOwnProperty.call(files, edit.path)) {
      errors.push({ edit: index, reason: `no file ${edit.path} in the input` });
      return;
    }
    const n = occurrences(files[edit.path], edit.find);
    if (n !== 1) {
      errors.push({ edit: index, reason: n === 0 ? 'find text not found' : `find text occurs ${n} times; make it unique` });
      return;
    }
    files[edit.path] = files[edit.path].replace(edit.find, () => edit.replace);
    changed.add(edit.path);
  });
  if (errors.length > 0) return { files: { ...input.files }, changed: [], errors };
  return { files: { ...files }, changed: [...changed].sort(), errors };
}
