// Small enhancements on top of pages that work without JavaScript.
// Dialogs: a fragment swapped into <dialog id="modal"> opens it; focus moves in, Escape closes,
// focus returns to what opened it.
(() => {
  let opener = null
  document.addEventListener('click', (event) => {
    const trigger = event.target.closest('[data-opens-dialog]')
    if (trigger) opener = trigger
  })
  document.addEventListener('htmx:after:swap', (event) => {
    const dialog = document.getElementById('modal')
    // htmx 4 fires the event on the element that made the request; the swap target is in its context.
    const target = event.detail?.ctx?.target ?? event.target
    if (dialog && dialog.contains(target) && !dialog.open && dialog.firstElementChild) {
      dialog.showModal()
      const focusTarget = dialog.querySelector('[autofocus], input:not([type=hidden]), button, a[href]')
      if (focusTarget) focusTarget.focus()
    }
  })
  document.addEventListener('close', (event) => {
    if (event.target.id !== 'modal') return
    event.target.replaceChildren()
    if (opener && document.contains(opener)) opener.focus()
    opener = null
  }, true)
  document.addEventListener('click', (event) => {
    const closer = event.target.closest('[data-closes-dialog]')
    if (!closer) return
    const dialog = closer.closest('dialog')
    if (dialog) { event.preventDefault(); dialog.close() }
  })
})()
