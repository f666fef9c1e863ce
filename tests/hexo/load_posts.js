#!/usr/bin/env node
// Load the posts of an existing Hexo site with the Hexo API, as `hexo generate`
// would, and print what Hexo parsed as one JSON document on stdout:
//
//   {"posts": [{"source", "title", "date", "categories", "comments", "content", "raw"}],
//    "missing": ["_posts/..."], "errors": ["..."], "warnings": ["..."]}
//
// Usage: node tests/hexo/load_posts.js SITE_DIR
//
// SITE_DIR needs _config.yml and a package.json with a "hexo": {"version": ...} object
// (without it Hexo ignores _config.yml and loads no plugin). `hexo` itself is required
// from this script's own folder (tests/hexo/node_modules). Plugins (hexo-renderer-marked)
// are loaded by Hexo the way a real site loads them: they must be listed in
// SITE_DIR/package.json and resolvable from SITE_DIR (SITE_DIR/node_modules, a parent
// folder's node_modules, or NODE_PATH).
//
// `missing` lists the .md files under source/_posts that Hexo did not load as posts
// (bad front matter, skipped names, ...), as paths relative to the source dir, the
// same form as a post's `source`. `errors` holds what Hexo logged at error/fatal
// level (e.g. "Process failed: _posts/x.md: YAMLException: ..."), `warnings` what it
// logged at warn level. The exit code is non-zero only if this script itself fails
// (bad arguments, Hexo cannot start, no Markdown renderer, ...).
'use strict';

const fs = require('fs');
const path = require('path');
const util = require('util');

function formatLog(args) {
  const parts = [...args];
  let err = null;
  if (parts.length && parts[0] && typeof parts[0] === 'object' && !(parts[0] instanceof Error)) {
    err = parts.shift().err || null;
  } else if (parts.length && parts[0] instanceof Error) {
    err = parts.shift();
  }
  // Hexo colours file names with picocolors; strip ANSI escapes.
  // eslint-disable-next-line no-control-regex
  let msg = util.format(...parts).replace(/\u001b\[[0-9;]*m/g, '');
  if (err) msg += (msg ? ': ' : '') + (err.name ? `${err.name}: ` : '') + (err.message || String(err));
  return msg;
}

// Every .md file under dir (following symlinks, as Hexo's Box does), relative to dir, '/'-separated.
function listMarkdown(dir, prefix, out) {
  let entries;
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    if (err.code === 'ENOENT') return out;
    throw err;
  }
  for (const name of entries) {
    const full = path.join(dir, name);
    const st = fs.statSync(full);
    if (st.isDirectory()) listMarkdown(full, `${prefix}${name}/`, out);
    else if (name.toLowerCase().endsWith('.md')) out.push(`${prefix}${name}`);
  }
  return out;
}

// Category names of a post, root first (a parent always before its children).
function categoryNames(Category, post) {
  const cats = post.categories.toArray();
  const depth = cat => {
    let d = 0;
    let cur = cat;
    while (cur && cur.parent) {
      d += 1;
      cur = Category.findById(cur.parent);
    }
    return d;
  };
  return cats
    .map((cat, index) => ({ name: cat.name, depth: depth(cat), index }))
    .sort((a, b) => a.depth - b.depth || a.index - b.index)
    .map(c => c.name);
}

async function main(argv) {
  if (argv.length !== 1) {
    throw new Error('usage: node load_posts.js SITE_DIR');
  }
  const siteDir = path.resolve(argv[0]);
  if (!fs.existsSync(path.join(siteDir, '_config.yml'))) {
    throw new Error(`not a Hexo site (no _config.yml): ${siteDir}`);
  }

  // Keep stdout for the JSON document only.
  console.log = console.error;
  console.info = console.error;

  const Hexo = require('hexo');
  const hexo = new Hexo(siteDir, { silent: true });

  const errors = [];
  const warnings = [];
  for (const [level, sink] of [['warn', warnings], ['error', errors], ['fatal', errors]]) {
    const orig = hexo.log[level].bind(hexo.log);
    hexo.log[level] = (...args) => {
      sink.push(formatLog(args));
      return orig(...args);
    };
  }

  await hexo.init();
  if (!hexo.env.init) {
    // update_package only marks the site initialized when package.json has a "hexo" object;
    // otherwise Hexo silently skips _config.yml and all plugins.
    throw new Error(
      `not a Hexo site: ${path.join(siteDir, 'package.json')} needs a "hexo": {"version": ...} object`
    );
  }
  if (!hexo.render.isRenderable('x.md')) {
    throw new Error(
      'Hexo has no Markdown renderer: list hexo-renderer-marked in the site package.json ' +
        'and make it resolvable from the site dir (node_modules or NODE_PATH)'
    );
  }
  await hexo.load();

  const Category = hexo.model('Category');
  const posts = hexo.model('Post').sort('source').map(post => ({
    source: post.source,
    title: post.title,
    date: post.date.toISOString(),
    categories: categoryNames(Category, post),
    comments: post.comments,
    content: post.content,
    raw: post.raw
  }));

  const sourceDir = hexo.source_dir;
  const postsDir = path.join(sourceDir, '_posts');
  const loaded = new Set(posts.map(p => p.source));
  const missing = listMarkdown(postsDir, '_posts/', [])
    .filter(src => !loaded.has(src))
    .sort();

  // No hexo.exit(): its before_exit filter would write db.json into the site; a check
  // only reads.
  const out = JSON.stringify({ posts, missing, errors, warnings });
  await new Promise((resolve, reject) => {
    process.stdout.write(`${out}\n`, err => (err ? reject(err) : resolve()));
  });
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  err => {
    process.stderr.write(`load_posts.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  }
);
