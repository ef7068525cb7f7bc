/** The entry of `dist/dashboard.js`: starts the dashboard on the page that loads it. */
import { startDashboard } from './page.js'

startDashboard(document)
