// The accessibility check the browser tests rely on (harness.ts, axe) finds what it must: a serious
// problem on screen fails it, with JavaScript on and off; without JavaScript it judges the page as
// shown, with the app's styles and without running the page's scripts.
import t from 'tap'
import { accessibilityProblems, MODES, openPage, startBrowserWorld } from './harness.js'

const world = await startBrowserWorld(t)

/** An image without a text alternative (its script adds one), grey on white text, and the app's stylesheet. */
const page = (stylesheet: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Check</title>
<link rel="stylesheet" href="${stylesheet}"></head><body><main><h1>Check</h1>
<img src="/favicon.ico" id="logo"><p style="color:#bbb;background:#fff">Faint words</p>
<script>document.getElementById('logo').alt = 'Logo'</script></main></body></html>`

for (const mode of world ? MODES : []) {
  t.test(`the accessibility check finds serious problems, ${mode.label}`, async (t) => {
    const { context, page: tab } = await openPage(world!, mode.js)
    t.teardown(() => context.close())
    await tab.goto('/login')
    const stylesheet = await tab.locator('link[rel="stylesheet"]').first().getAttribute('href')
    t.ok(stylesheet, 'the app has a stylesheet')
    await tab.route('**/accessibility-check', (route) =>
      route.fulfill({ body: page(stylesheet!), contentType: 'text/html; charset=utf-8' }),
    )
    await tab.goto('/accessibility-check')
    const problems = await accessibilityProblems(tab)
    t.match(problems.join('\n'), /color-contrast \(serious\)/, 'faint text is a serious problem')
    if (mode.js) t.notMatch(problems.join('\n'), /image-alt/, "the page's script gave the image its text")
    else t.match(problems.join('\n'), /image-alt \(critical\)/, 'without JavaScript the image has no text')
    await tab.goto('/login')
    t.same(await accessibilityProblems(tab), [], 'the sign-in page has none')
  })
}
