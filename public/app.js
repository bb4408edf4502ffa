// Small enhancements on top of pages that work without JavaScript.
(() => {
  let opener = null

  // Dialogs: a fragment swapped into <dialog id="modal"> opens it; focus moves in, Escape closes,
  // focus returns to what opened it.
  document.addEventListener('click', (event) => {
    const trigger = event.target.closest('[data-opens-dialog], [data-hx-target="#removal"]')
    if (trigger) opener = trigger
  })

  // In this order of preference (one selector list would take whichever comes first on the page).
  const focusFirst = (root) => {
    const target = root.querySelector('[autofocus]') ?? root.querySelector('[aria-invalid="true"]')
      ?? root.querySelector('input:not([type=hidden]), select, textarea, button:not([tabindex="-1"]), a[href]')
    if (target) target.focus()
  }

  document.addEventListener('htmx:after:swap', (event) => {
    const dialog = document.getElementById('modal')
    // htmx 4 fires the event on the element that made the request; the swap target is in its context.
    const target = event.detail?.ctx?.target ?? event.target
    if (dialog && dialog.contains(target)) {
      if (!dialog.open && dialog.firstElementChild) dialog.showModal()
      focusFirst(dialog)
      return
    }
    // Swapped-in forms put focus where a full page load would (autofocus, or the first error).
    const swapped = target instanceof Element ? target : null
    const root = swapped && (swapped.isConnected ? swapped : document.getElementById(swapped.id))
    if (root && root.querySelector('[autofocus], [aria-invalid="true"]')) focusFirst(root)
  })

  document.addEventListener('close', (event) => {
    if (event.target.id !== 'modal') return
    event.target.replaceChildren()
    if (opener && document.contains(opener)) opener.focus()
    opener = null
  }, true)

  document.addEventListener('click', (event) => {
    const closer = event.target.closest('[data-closes-dialog]')
    if (closer) {
      const dialog = closer.closest('dialog')
      if (dialog) { event.preventDefault(); dialog.close() }
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
