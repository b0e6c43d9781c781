// First: the language is settled before any component asks for a message.
import './lib/i18n/locale.svelte'
import { mount } from 'svelte'
import './lib/design/tokens.css'
import App from './App.svelte'

mount(App, { target: document.getElementById('app')! })
