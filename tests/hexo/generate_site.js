#!/usr/bin/env node
// Generate an existing Hexo site (`hexo generate`, with the Hexo API) into SITE_DIR/public.
//
// Usage: node tests/hexo/generate_site.js SITE_DIR
//
// SITE_DIR is a site as load_posts.js takes it. Its theme may use `.page` layouts, rendered
// here by the smallest template language there is: `{{ content }}` is the page's content
// (Hexo's core renders no template language of its own). The exit code is non-zero when Hexo
// fails.
'use strict';

const path = require('path');
const Hexo = require('hexo');

async function main() {
  const siteDir = path.resolve(process.argv[2] || '');
  const hexo = new Hexo(siteDir, { silent: true });
  hexo.extend.renderer.register(
    'page',
    'html',
    (data, locals) => data.text.replace('{{ content }}', () => (locals.page && locals.page.content) || ''),
    true,
  );
  await hexo.init();
  await hexo.call('generate', {});
  await hexo.exit();
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
