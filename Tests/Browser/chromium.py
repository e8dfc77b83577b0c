"""Debian's chromium through its chromedriver, headless, as every browser test here
starts it (never a downloaded driver), and whole-page screenshots."""
import os
import shutil

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def start(width, height, downloads=None):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}", "--lang=zh-CN", "--no-first-run"):
        options.add_argument(flag)
    if downloads:
        options.add_experimental_option("prefs", {
            "download.default_directory": downloads, "download.prompt_for_download": False})
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    # A first start on a fresh machine (a new profile) can fail once: try again.
    for attempt in range(3):
        try:
            driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
            break
        except Exception:
            if attempt == 2:
                raise
    if downloads:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    driver.set_window_size(width, height)
    driver.set_page_load_timeout(30)
    # Each element looked for after a click is one the page before did not have: waiting
    # for it waits for the next page.
    driver.implicitly_wait(15)
    return driver


def shot(driver, out, name, width, height, tallest):
    """The whole page, as tall as its content (at most `tallest`), `width` px wide."""
    page = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(height, min(page + 40, tallest)))
    path = os.path.join(out, name + ".png")
    driver.save_screenshot(path)
    driver.set_window_size(width, height)
    return path
