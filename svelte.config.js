/** Read by @sveltejs/vite-plugin-svelte (see vite.config.ts) and by svelte-check. */
export default {
  compilerOptions: {
    runes: true,
  },
}
