/** Runs a script's `main` and sets its exit code: a thrown error is printed and exits 2. */
export function runMain(main: () => Promise<number>): void {
  // exitCode, not exit(): let a piped stdout drain first.
  main().then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(err)
      process.exitCode = 2
    },
  )
}
