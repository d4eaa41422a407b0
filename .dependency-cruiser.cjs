/** Import cycles fail the lint step; test/architecture/layering.test.ts checks the folder ranks. */
/* global module */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycle, of files or through folders (type-only imports count).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-guest-code',
      severity: 'error',
      comment: 'Host code (src/) never imports guest code (sandboxes/).',
      from: { path: '^src/' },
      to: { path: '^sandboxes/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
