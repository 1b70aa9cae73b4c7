/* abstat.js — placeholder until the snippet lands. */
