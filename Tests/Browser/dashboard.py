#!/usr/bin/env python3
"""Drives the district's dashboard in a real browser (Debian's chromium through its
chromedriver, headless, 1280 px wide) and saves a screenshot of each step. Called by
Tests/SyncEndToEndTests/DashboardBrowserTests.swift; prints one JSON line.

  dashboard.py URL OUT --name NAME --password PASSWORD
"""
import argparse
import json
import os
import shutil
import time

import chromium
from selenium.webdriver.common.by import By

FIGURES = ["received", "closed", "overdue", "escalations", "completion_rate", "on_time_rate",
           "median_working_days", "p90_working_days", "satisfaction_rate", "community_rate",
           "reopen_rate", "policies", "enterprises", "enterprise_times", "paid"]


def browser(downloads):
    return chromium.start(1280, 900, downloads)


def shot(driver, out, name):
    return chromium.shot(driver, out, name, 1280, 900, 6000)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--name", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    downloads = os.path.join(args.out, "downloads")
    shutil.rmtree(downloads, ignore_errors=True)
    os.makedirs(downloads)
    driver = browser(downloads)
    result = {"screenshots": []}
    try:
        # Not signed in: the dashboard sends the browser to the sign-in page.
        driver.get(args.url + "/dashboard")
        result["signin_url"] = driver.current_url
        driver.find_element(By.ID, "name").send_keys(args.name)
        driver.find_element(By.ID, "password").send_keys(args.password)
        result["screenshots"].append(shot(driver, args.out, "1-signin"))
        driver.find_element(By.ID, "signin").click()
        driver.find_element(By.ID, "headline")
        result["overview_url"] = driver.current_url
        result["figures"] = {name: driver.find_element(By.ID, name).text for name in FIGURES}
        result["charts"] = len(driver.find_elements(By.CSS_SELECTOR, "svg.chart"))
        # What a person sees: text is drawn (a CJK font: not empty boxes) and fits the page.
        result["title"] = driver.find_element(By.TAG_NAME, "h1").text
        result["overflow"] = driver.execute_script(
            "return document.documentElement.scrollWidth > window.innerWidth + 1")
        result["screenshots"].append(shot(driver, args.out, "2-overview"))
        # Follow a figure to its cases.
        driver.find_element(By.ID, "overdue").click()
        count = driver.find_element(By.ID, "count").text
        result["overdue_cases"] = count
        result["overdue_rows"] = len(driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr"))
        result["cases_text"] = driver.find_element(By.ID, "cases").text
        result["screenshots"].append(shot(driver, args.out, "3-overdue-cases"))
        # Download the league table as CSV.
        driver.get(args.url + "/dashboard")
        link = driver.find_element(By.CSS_SELECTOR, "#offices a[href*='offices.csv']")
        link.click()
        deadline = time.time() + 20
        files = []
        while time.time() < deadline:
            files = [f for f in os.listdir(downloads) if f.endswith(".csv")]
            if files:
                break
            time.sleep(0.2)
        if files:
            with open(os.path.join(downloads, files[0]), "rb") as handle:
                data = handle.read()
            result["csv_file"] = files[0]
            result["csv_bom"] = data.startswith(b"\xef\xbb\xbf")
            result["csv"] = data.decode("utf-8-sig")
        # English, and the print view.
        driver.get(args.url + "/dashboard?lang=en")
        result["english_label"] = driver.find_element(By.CSS_SELECTOR, "#headline h2").text
        result["screenshots"].append(shot(driver, args.out, "4-overview-en"))
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        result["print_hides_forms"] = driver.execute_script(
            "return [...document.querySelectorAll('form')].every(f => getComputedStyle(f).display === 'none')")
        result["screenshots"].append(shot(driver, args.out, "5-print"))
    finally:
        driver.quit()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
