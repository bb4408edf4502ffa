// Small enhancements on top of pages that work without JavaScript.
;(() => {
  let opener = null

  // Forms: every POST form without an htmx request of its own is sent by htmx (boosted), and its
  // answer never changes the address: a refused form is swapped in where it was, and the address
  // bar keeps the page's address, never the form's POST-only one (a reload would post again, a
  // bookmark would find nothing). A form that succeeds is answered with HX-Redirect to its page.
  // A form that must stay a plain submit says so with data-hx-boost="false".
  const PLAIN_POST_FORM = 'form[method="post"]:not([data-hx-post]):not([data-hx-boost])'
  const boostForms = (root) => {
    if (!(root instanceof Element)) return
    for (const form of [root, ...root.querySelectorAll(PLAIN_POST_FORM)]) {
      if (!form.matches(PLAIN_POST_FORM)) continue
      form.setAttribute('data-hx-boost', 'true')
      form.setAttribute('data-hx-push-url', 'false')
    }
  }
  document.addEventListener('htmx:before:process', (event) => boostForms(event.target))
  boostForms(document.body)
  // htmx may have processed the page before this script ran; forms not yet set up are set up now.
  if (window.htmx) window.htmx.process(document.body)

  // Announcements: a message a swap brings ([role="alert"], a live region) is emptied and filled
  // again a moment later, so it is in the page before its words arrive and screen readers say it.
  const MESSAGE = '[role="alert"]'
  const announce = (message, then) => {
    const words = [...message.childNodes]
    message.replaceChildren()
    setTimeout(() => {
      message.append(...words)
      if (then) then()
    }, 150)
  }

  // The field to fill first: one with a message, else the one the page asks focus for.
  const fieldToFill = (root) => root.querySelector('[aria-invalid="true"]') || root.querySelector('[autofocus]')

  const focusFirst = (root) => {
    const target =
      fieldToFill(root) ||
      root.querySelector('input:not([type=hidden]), select, textarea, button:not([tabindex="-1"]), a[href]')
    if (target) target.focus()
  }

  /** Focus on something that is not a control (a message, a heading): reachable by script only. */
  const focusOn = (element) => {
    if (!element.hasAttribute('tabindex')) element.setAttribute('tabindex', '-1')
    element.focus()
  }

  // Dialogs: a fragment swapped into <dialog id="modal"> opens it; focus moves in, Escape closes,
  // focus returns to what opened it.
  document.addEventListener('click', (event) => {
    const trigger = event.target.closest('[data-opens-dialog], [data-hx-target="#removal"]')
    if (trigger) opener = trigger
  })

  let focusedBeforeSwap = null
  document.addEventListener('htmx:before:swap', () => {
    focusedBeforeSwap = document.activeElement
  })

  // After every swap, focus goes where a person continues: the field to fill in the new content, or
  // its message, or back to the control that asked (when the swap replaced it). A control still
  // being used (typing a search, choosing a type) keeps focus; messages are announced.
  document.addEventListener('htmx:after:swap', (event) => {
    const dialog = document.getElementById('modal')
    // htmx 4 fires the event on the element that made the request; the swap target is in its context.
    const target = event.detail?.ctx?.target ?? event.target
    const swapped = target instanceof Element ? target : null
    const root = swapped && (swapped.isConnected ? swapped : document.getElementById(swapped.id))
    if (!root) return
    const messages = root.matches(MESSAGE) ? [root] : [...root.querySelectorAll(MESSAGE)]
    const message = messages[0]
    for (const m of messages.slice(1)) announce(m)
    if (dialog && dialog.contains(root)) {
      if (message) announce(message)
      if (!dialog.open && dialog.firstElementChild) dialog.showModal()
      focusFirst(dialog)
      return
    }
    const before = focusedBeforeSwap
    const lost = !before || before === document.body || !before.isConnected
    const stillUsing = !lost && before.matches('input, select, textarea')
    const field = fieldToFill(root)
    let landing = null
    if (field && !stillUsing) field.focus()
    else if (lost) {
      // The control that asked, when the swap brought it back (and it can take focus: not in a closed <details>).
      const same = before && before.id && document.getElementById(before.id)
      if (same && root.contains(same)) same.focus()
      if (document.activeElement !== same) landing = message || root.querySelector('h1, h2, h3')
    }
    // A page link that is gone (the last page has no next page): the results' checked or first choice.
    if (lost && !landing && document.activeElement === document.body) {
      const choice = root.querySelector('input:checked') || root.querySelector('input:not([type=hidden]), a[href]')
      if (choice) choice.focus()
    }
    if (landing && landing !== message) focusOn(landing)
    if (message) announce(message, landing === message ? () => focusOn(message) : null)
  })

  document.addEventListener(
    'close',
    (event) => {
      if (event.target.id !== 'modal') return
      event.target.replaceChildren()
      if (opener && document.contains(opener)) opener.focus()
      opener = null
    },
    true,
  )

  document.addEventListener('click', (event) => {
    const closer = event.target.closest('[data-closes-dialog]')
    if (closer) {
      const dialog = closer.closest('dialog')
      if (dialog) {
        event.preventDefault()
        dialog.close()
      }
      return
    }
    // Cancel a removal prompt that was swapped into a page: put the page back as it was.
    const cancel = event.target.closest('[data-cancel-removal]')
    const slot = cancel && cancel.closest('#removal')
    if (slot && document.querySelector('main > .page-head')) {
      event.preventDefault()
      closeRemoval(slot)
    }
  })

  function closeRemoval(slot) {
    slot.replaceChildren()
    const trash = document.querySelector('[data-hx-target="#removal"]')
    if (trash) trash.focus()
  }

  // Escape backs out of a removal prompt: in place when it was swapped in, else to the cancel link.
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || document.querySelector('dialog[open]')) return
    const section = event.target.closest && event.target.closest('.removal')
    if (!section) return
    const slot = section.closest('#removal')
    if (slot && document.querySelector('main > .page-head')) closeRemoval(slot)
    else if (section.dataset.cancelHref) window.location.assign(section.dataset.cancelHref)
  })
})()
